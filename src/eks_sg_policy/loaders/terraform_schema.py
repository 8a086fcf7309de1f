"""Facts about the AWS provider's resources that both Terraform loaders (HCL and plan JSON) use.

Kept free of the HCL evaluator so that reading a plan does not import it."""

from __future__ import annotations

CLUSTER_TAG = "kubernetes.io/cluster/"


def cluster_sg_key(cluster_key: str) -> str:
    """The identity of the security group EKS creates for the cluster `cluster_key`."""
    return f"cluster-sg:{cluster_key}"


# Resources whose rules are security group rules of their own.
RULE_RESOURCES = (
    "aws_security_group_rule",
    "aws_vpc_security_group_ingress_rule",
    "aws_vpc_security_group_egress_rule",
)

# Other resources that attach security groups, and the attributes that name them.
ATTACHMENTS: dict[str, tuple[str, ...]] = {
    "aws_instance": ("vpc_security_group_ids", "security_groups"),
    "aws_lb": ("security_groups",),
    "aws_alb": ("security_groups",),
    "aws_elb": ("security_groups",),
    "aws_network_interface": ("security_groups",),
    "aws_vpc_endpoint": ("security_group_ids",),
    "aws_db_instance": ("vpc_security_group_ids",),
    "aws_rds_cluster": ("vpc_security_group_ids",),
    "aws_efs_mount_target": ("security_groups",),
    "aws_elasticache_cluster": ("security_group_ids",),
    "aws_elasticache_replication_group": ("security_group_ids",),
}

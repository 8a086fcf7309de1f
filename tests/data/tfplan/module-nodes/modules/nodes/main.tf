variable "cluster_name" {
  type = string
}

variable "cluster_security_group_id" {
  type = string
}

variable "vpc_id" {
  type = string
}

resource "aws_security_group" "node" {
  name_prefix = "demo-nodes-"
  vpc_id      = var.vpc_id
  tags = {
    "kubernetes.io/cluster/${var.cluster_name}" = "owned"
  }
}

resource "aws_vpc_security_group_ingress_rule" "kubelet" {
  security_group_id            = aws_security_group.node.id
  referenced_security_group_id = var.cluster_security_group_id
  ip_protocol                  = "tcp"
  from_port                    = 10250
  to_port                      = 10250
}

resource "aws_vpc_security_group_ingress_rule" "self" {
  security_group_id            = aws_security_group.node.id
  referenced_security_group_id = aws_security_group.node.id
  ip_protocol                  = "-1"
}

resource "aws_vpc_security_group_egress_rule" "all" {
  security_group_id = aws_security_group.node.id
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "-1"
}

resource "aws_launch_template" "node" {
  name_prefix            = "demo-nodes-"
  vpc_security_group_ids = [aws_security_group.node.id]
}

resource "aws_eks_node_group" "this" {
  cluster_name    = var.cluster_name
  node_group_name = "default"
  node_role_arn   = "arn:aws:iam::111122223333:role/demo-node"
  subnet_ids      = ["subnet-0aaa", "subnet-0bbb"]

  scaling_config {
    desired_size = 2
    max_size     = 3
    min_size     = 1
  }

  launch_template {
    id      = aws_launch_template.node.id
    version = aws_launch_template.node.latest_version
  }
}

output "security_group_id" {
  value = aws_security_group.node.id
}

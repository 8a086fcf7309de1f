variable "vpc_id" {
  type    = string
  default = "vpc-0a1b2c3d4e5f60789"
}

resource "aws_eks_cluster" "main" {
  name     = "demo"
  version  = "1.30"
  role_arn = "arn:aws:iam::111122223333:role/demo-cluster"

  vpc_config {
    subnet_ids = ["subnet-0aaa", "subnet-0bbb"]
  }
}

module "nodes" {
  source = "./modules/nodes"

  cluster_name              = aws_eks_cluster.main.name
  cluster_security_group_id = aws_eks_cluster.main.vpc_config[0].cluster_security_group_id
  vpc_id                    = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "cluster_from_nodes" {
  security_group_id            = aws_eks_cluster.main.vpc_config[0].cluster_security_group_id
  referenced_security_group_id = module.nodes.security_group_id
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
}

data "aws_security_group" "bastion" {
  name = "bastion"
}

resource "aws_security_group" "cluster_extra" {
  name   = "prod-cluster-extra"
  vpc_id = "vpc-0a1b2c3d4e5f60789"

  ingress {
    description = "API from anywhere"
    protocol    = "tcp"
    from_port   = 443
    to_port     = 443
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_security_group_rule" "extra_egress" {
  type              = "egress"
  security_group_id = aws_security_group.cluster_extra.id
  protocol          = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_blocks       = ["10.0.0.0/8"]
}

resource "aws_eks_cluster" "main" {
  name     = "prod"
  version  = "1.29"
  role_arn = "arn:aws:iam::111122223333:role/prod-cluster"

  vpc_config {
    subnet_ids         = ["subnet-0aaa", "subnet-0bbb"]
    security_group_ids = [aws_security_group.cluster_extra.id]
  }
}

resource "aws_security_group_rule" "nodeports" {
  count             = 2
  type              = "ingress"
  security_group_id = aws_eks_cluster.main.vpc_config[0].cluster_security_group_id
  protocol          = "tcp"
  from_port         = 30000
  to_port           = 32767
  cidr_blocks       = [["10.0.0.0/8", "0.0.0.0/0"][count.index]]
}

resource "aws_eks_node_group" "default" {
  cluster_name    = aws_eks_cluster.main.name
  node_group_name = "default"
  node_role_arn   = "arn:aws:iam::111122223333:role/prod-node"
  subnet_ids      = ["subnet-0aaa", "subnet-0bbb"]

  scaling_config {
    desired_size = 2
    max_size     = 3
    min_size     = 1
  }

  remote_access {
    ec2_ssh_key               = "ops"
    source_security_group_ids = [data.aws_security_group.bastion.id]
  }
}

variable "vpc_id" {
  type    = string
  default = "vpc-0a1b2c3d4e5f60789"
}

resource "aws_security_group" "control_plane" {
  name   = "demo-control-plane"
  vpc_id = var.vpc_id
}

resource "aws_security_group_rule" "cp_from_nodes" {
  type                     = "ingress"
  security_group_id        = aws_security_group.control_plane.id
  source_security_group_id = aws_security_group.node.id
  protocol                 = "tcp"
  from_port                = 443
  to_port                  = 443
}

resource "aws_security_group_rule" "cp_to_nodes" {
  type                     = "egress"
  security_group_id        = aws_security_group.control_plane.id
  source_security_group_id = aws_security_group.node.id
  protocol                 = "tcp"
  from_port                = 443
  to_port                  = 443
}

resource "aws_eks_cluster" "main" {
  name     = "demo"
  version  = "1.31"
  role_arn = "arn:aws:iam::111122223333:role/demo-cluster"

  vpc_config {
    subnet_ids         = ["subnet-0aaa", "subnet-0bbb"]
    security_group_ids = [aws_security_group.control_plane.id]
  }
}

resource "aws_security_group" "node" {
  name   = "demo-node"
  vpc_id = var.vpc_id
  tags = {
    "kubernetes.io/cluster/demo" = "owned"
  }

  ingress {
    description     = "webhooks"
    protocol        = "tcp"
    from_port       = 443
    to_port         = 443
    security_groups = [aws_security_group.control_plane.id]
  }

  ingress {
    description = "node to node"
    protocol    = "-1"
    from_port   = 0
    to_port     = 0
    self        = true
  }

  egress {
    protocol    = "-1"
    from_port   = 0
    to_port     = 0
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_launch_template" "node" {
  name_prefix            = "demo-node-"
  image_id               = "ami-0123456789abcdef0"
  instance_type          = "m5.large"
  vpc_security_group_ids = [aws_security_group.node.id]
}

resource "aws_autoscaling_group" "nodes" {
  name                = "demo-nodes"
  min_size            = 2
  max_size            = 4
  vpc_zone_identifier = ["subnet-0aaa", "subnet-0bbb"]

  launch_template {
    id      = aws_launch_template.node.id
    version = "$Latest"
  }

  tag {
    key                 = "kubernetes.io/cluster/demo"
    value               = "owned"
    propagate_at_launch = true
  }
}

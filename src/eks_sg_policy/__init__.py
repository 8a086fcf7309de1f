"""eks-sg-policy: will the nodes and the control plane of an EKS cluster be able to talk?"""

__version__ = "0.1.0"

instance_type = "t2.micro"
aws_region    = "us-east-1"

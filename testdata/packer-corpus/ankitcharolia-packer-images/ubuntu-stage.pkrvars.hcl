# when default VPC is not available, we need to specify vpc_id and subnet_id
vpc_id              = "vpc-09989495ebb9ce08d"
subnet_id           = "subnet-0749a1d5b0ebb757b"
volume_type         = "gp2"
root_volume_size_gb = "20"

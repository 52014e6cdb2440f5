# *.auto.pkrvars.hcl files are automatically picked up when running `packer build`
# and are used to set variables that are used in the main Packer configuration file.
ami_prefix = "learn-packer-aws-redis-var"

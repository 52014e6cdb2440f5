variable "ami_prefix" {
  type    = string
  default = "AMI"
}
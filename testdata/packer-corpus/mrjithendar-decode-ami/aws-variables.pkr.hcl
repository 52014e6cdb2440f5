variable "aws_region" {
  type    = string
  default = "us-east-1"
}

variable "srcAMI" {
  type = string
  default = "ami-073d44ded6fa7b67c"
}
variable "uName" {
  type = string
  default = "centos"
}
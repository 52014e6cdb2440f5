variable "instance_type" {
  type = string
}

variable "aws_region" {
  type = string
}

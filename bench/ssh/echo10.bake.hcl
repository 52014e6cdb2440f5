# Case (a) of the Docker-bake benchmark, 10 inline echo steps, over the
# communicator chosen by var.communicator ("ssh" for bench/ssh.sh); the
# image is committed and tagged, as in bench/docker.sh.
variable "communicator" {
  type    = string
  default = "ssh"
}

variable "repository" {
  type    = string
  default = "bench/ssh-a"
}

source "docker" "echo10" {
  image        = "localbase/debian:bookworm"
  repository   = var.repository
  communicator = var.communicator
}

build {
  sources = ["source.docker.echo10"]
  provisioner "shell" { inline = ["echo step 1"] }
  provisioner "shell" { inline = ["echo step 2"] }
  provisioner "shell" { inline = ["echo step 3"] }
  provisioner "shell" { inline = ["echo step 4"] }
  provisioner "shell" { inline = ["echo step 5"] }
  provisioner "shell" { inline = ["echo step 6"] }
  provisioner "shell" { inline = ["echo step 7"] }
  provisioner "shell" { inline = ["echo step 8"] }
  provisioner "shell" { inline = ["echo step 9"] }
  provisioner "shell" { inline = ["echo step 10"] }
}

# Case (a) of the Docker-bake benchmark, 10 inline echo steps, over the
# communicator chosen by var.communicator ("ssh" for bench/ssh.sh).
variable "communicator" {
  type    = string
  default = "ssh"
}

source "docker" "echo10" {
  image        = "localbase/debian:bookworm"
  repository   = "bake-bench/echo10"
  communicator = var.communicator
  discard      = true
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

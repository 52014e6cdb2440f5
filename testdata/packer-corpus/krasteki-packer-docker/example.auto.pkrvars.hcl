docker_image = "ubuntu:bionic"

packer {
  required_version = "1.7.8"
}
# A plain Packer HCL2 template for the docker builder, as a Packer user
# writes it: bake bakes it unchanged, and packer validate accepts it.

variable "image" {
  type    = string
  default = "localbase/debian:bookworm"
}

source "docker" "app" {
  image  = var.image
  commit = true
  changes = [
    "ENV APP_HOME=/opt/app",
    "WORKDIR /opt/app",
    "USER nobody",
    "ENTRYPOINT [\"/bin/cat\"]",
    "CMD [\"/opt/app/motd\"]",
  ]
}

build {
  sources = ["source.docker.app"]

  provisioner "shell" {
    environment_vars = ["GREETING=hello from packer"]
    inline = [
      "mkdir -p /opt/app",
      "echo \"$GREETING\" > /opt/app/motd",
    ]
  }

  provisioner "file" {
    source      = "${path.root}/files/"
    destination = "/opt/app"
  }

  provisioner "file" {
    sources     = ["/opt/app/motd", "/opt/app/conf/app.conf"]
    destination = "downloads/"
    direction   = "download"
  }

  post-processors {
    post-processor "docker-tag" {
      repository = "bake-e2e/packer-app"
      tags       = ["latest", "stable"]
    }
  }

  post-processor "manifest" {
    output     = "packer-manifest.json"
    strip_path = true
  }
}

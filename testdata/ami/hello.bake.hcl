# Bakes the hello nginx site (testdata/hello) as an AMI instead of a Docker
# image: the same provisioners, over SSH with the host keys pinned from the
# instance's console, as the Debian AMI's admin user (through sudo).
#   bake sim &                                   # a local cloud on 127.0.0.1:4566
#   AWS_ENDPOINT_URL=http://127.0.0.1:4566 AWS_REGION=us-east-1 \
#   AWS_ACCESS_KEY_ID=sim AWS_SECRET_ACCESS_KEY=sim bake build testdata/ami

variable "greeting" {
  type    = string
  default = "Hello from bake"
}

variable "ami_regions" {
  type        = list(string)
  default     = []
  description = "Regions besides the build region to copy the AMI to."
}

variable "apt_proxy" {
  type        = string
  default     = ""
  description = "An http proxy for apt (e.g. an apt-cacher-ng), or empty."
}

source "amazon-ebs" "hello" {
  instance_type = "t3.micro"
  source_ami_filter {
    filters = {
      name                = "debian-12-amd64-*"
      virtualization-type = "hvm"
    }
    owners      = ["136693071363"] # Debian
    most_recent = true
  }
  ssh_username    = "admin"
  ami_name        = "hello-${bake.version}"
  ami_description = "The hello site, baked by bake"
  ami_regions     = var.ami_regions
  tags = {
    app = "hello"
  }
  snapshot_tags = {
    app = "hello"
  }
}

build {
  name    = "hello"
  sources = ["source.amazon-ebs.hello"]

  provisioner "shell" {
    environment_vars = var.apt_proxy == "" ? [] : ["http_proxy=${var.apt_proxy}"]
    inline = [
      "export DEBIAN_FRONTEND=noninteractive",
      "apt-get update -qq",
      "apt-get install -y -qq --no-install-recommends nginx-light >/dev/null",
      "rm -rf /var/lib/apt/lists/*",
    ]
  }

  provisioner "file" {
    source      = "${path.root}/site/"
    destination = "/var/www/html"
  }

  provisioner "file" {
    content     = "<!doctype html>\n<title>${var.greeting}</title>\n<h1>${var.greeting}</h1>\n<p>version <span id=\"version\">${bake.version}</span></p>\n"
    destination = "/var/www/html/index.html"
  }

  provisioner "shell" {
    inline = ["nginx -t", "echo baked version $BAKE_VERSION"]
  }
}

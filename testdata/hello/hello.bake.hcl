# Bakes an nginx image that serves a page showing the version it was baked as.
#   bake build testdata/hello
#   docker run --rm -p 127.0.0.1:8080:80 bake/hello:VERSION

variable "base_image" {
  type        = string
  default     = "localbase/debian:bookworm"
  description = "The image to start from; debian:bookworm from a registry works the same."
}

variable "repository" {
  type    = string
  default = "bake/hello"
}

variable "greeting" {
  type    = string
  default = "Hello from bake"
  validation {
    condition     = length(var.greeting) > 0
    error_message = "The greeting must not be empty."
  }
}

source "docker" "hello" {
  image      = var.base_image
  repository = var.repository
  changes = [
    "EXPOSE 80",
    "CMD [\"nginx\", \"-g\", \"daemon off;\"]",
    "LABEL org.opencontainers.image.title=hello",
  ]
}

build {
  name    = "hello"
  sources = ["source.docker.hello"]

  provisioner "shell" {
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

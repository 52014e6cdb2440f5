# Bakes a web server from bake's nginx recipe: the page shows the version
# the image was baked as. This is what `make demo` bakes and serves.
#   bake build testdata/web
#   docker run --rm -p 127.0.0.1:8080:80 bake/web:VERSION

variable "base_image" {
  type        = string
  default     = "localbase/debian:bookworm"
  description = "The image to start from; debian:bookworm from a registry works the same."
}

variable "repository" {
  type    = string
  default = "bake/web"
}

variable "push" {
  type        = bool
  default     = false
  description = "Push the image to its repository once it is verified."
}

variable "greeting" {
  type    = string
  default = "Hello from bake"
  validation {
    condition     = length(var.greeting) > 0
    error_message = "The greeting must not be empty."
  }
}

source "docker" "web" {
  image      = var.base_image
  repository = var.repository
  changes    = ["EXPOSE 80", "LABEL org.opencontainers.image.title=web"]
  push       = var.push
}

build {
  name    = "web"
  sources = ["source.docker.web"]

  # nginx-light, its site and a supervisor that runs it as the image's
  # command (there is no systemd in a container). The page is written
  # next, so a new version re-bakes from the step cache in about a second.
  provisioner "recipe" {
    name   = "nginx"
    params = { index_html = "" }
  }

  provisioner "file" {
    content     = "<!doctype html>\n<title>${var.greeting}</title>\n<h1>${var.greeting}</h1>\n<p>version <span id=\"version\">${bake.version}</span></p>\n"
    destination = "/var/www/html/index.html"
  }

  # bake's extension to Packer's format: the new image is booted as it
  # will run (its own command, the recipe's supervisor) and checked before
  # it is tagged or pushed. A failed check leaves no image behind.
  verify {
    inline  = ["nginx -t", "test -s /var/www/html/index.html"]
    timeout = "1m"
    http {
      port     = 80
      contains = "<span id=\"version\">${bake.version}</span>"
    }
  }
}

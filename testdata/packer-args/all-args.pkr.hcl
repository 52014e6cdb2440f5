# Every argument Packer's own shell, file and shell-local provisioners and its
# manifest and checksum post-processors take (Packer 1.11 docs): bake must
# accept each (TestPackerArgumentsAccepted), never refuse one or suggest
# another name for it.
source "docker" "x" {
  image  = "debian:bookworm"
  commit = true
}
build {
  sources = ["source.docker.x"]
  provisioner "shell" {
    inline              = ["true"]
    binary              = false
    valid_exit_codes    = [0]
    environment_vars    = ["A=b"]
    env                 = { B = "c" }
    use_env_var_file    = false
    execute_command     = "chmod +x {{ .Path }}; {{ .Vars }} {{ .Path }}"
    expect_disconnect   = false
    inline_shebang      = "/bin/sh -e"
    env_var_format      = "%s='%s' "
    remote_folder       = "/tmp"
    remote_file         = "x.sh"
    remote_path         = "/tmp/x.sh"
    skip_clean          = false
    start_retry_timeout = "5m"
    pause_after         = "1s"
    pause_before        = "1s"
    max_retries         = 1
    timeout             = "5m"
    only                = ["docker.x"]
    except              = []
  }
  provisioner "file" {
    source      = "${path.root}/all-args.pkr.hcl"
    destination = "/tmp/"
    direction   = "upload"
    generated   = false
    max_retries = 1
  }
  provisioner "shell-local" {
    inline            = ["true"]
    execute_command   = ["/bin/sh", "-c", "{{.Vars}} {{.Script}}"]
    env_var_format    = "%s='%s' "
    only_on           = ["linux"]
    use_linux_pathing = false
    valid_exit_codes  = [0]
  }
  post-processor "manifest" {
    output              = "m.json"
    strip_path          = true
    strip_time          = false
    custom_data         = { a = "b" }
    keep_input_artifact = true
  }
  post-processor "checksum" {
    checksum_types      = ["sha256"]
    output              = "x.checksum"
    keep_input_artifact = true
  }
}

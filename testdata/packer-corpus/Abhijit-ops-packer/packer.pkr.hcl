variable "owner" {
  type = list(string)
  description = "owner name"
}
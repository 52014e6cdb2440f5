// Package librarytest holds the built-in recipes' bake tests: each recipe
// is baked into an image through the docker builder, applied again to the
// result (it must change nothing), and its service is proved to work. They
// live apart from package recipes so that its unit tests build without the
// builders.
package librarytest

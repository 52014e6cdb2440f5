// Package roll will move Auto Scaling group services onto new images with
// blue/green, canary and rolling cutovers (issue 6). Nothing is
// implemented here yet; the directory holds the place the design gives it.
package roll

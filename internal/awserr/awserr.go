// Package awserr reads the errors AWS APIs return: their code, whether
// the thing is gone, and a message without the SDK's retry and
// request-id noise. Everything in bake that calls AWS (builders/amazon,
// datasources/amazon, images, roll) reads an error code through it.
package awserr

import (
	"errors"
	"slices"
	"strings"

	"github.com/aws/smithy-go"
)

// Code is the AWS error code of err ("InvalidAMIID.NotFound"), or ""
// when err is not an AWS API error.
func Code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// Is reports whether err is an AWS API error with one of codes.
func Is(err error, codes ...string) bool {
	c := Code(err)
	return c != "" && slices.Contains(codes, c)
}

// NotFound reports the codes that say the thing does not exist
// (*.NotFound, *NotFoundException), which cleanup takes as done.
func NotFound(err error) bool {
	c := Code(err)
	return strings.HasSuffix(c, ".NotFound") || strings.HasSuffix(c, "NotFoundException")
}

// Short is err's message without the SDK's retry and request-id noise:
// "Code: message" for an AWS API error, else err.Error().
func Short(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode() + ": " + ae.ErrorMessage()
	}
	return err.Error()
}

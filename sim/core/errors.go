package core

import (
	"errors"
	"fmt"
	"net/http"
)

// Error is an AWS API error: the code a client's SDK matches on, the
// message, and the HTTP status. A handler returns it; the server writes it in
// the service's wire format. Status 0 means: the status the service's model
// gives the code, else 400.
type Error struct {
	Code    string
	Message string
	Status  int

	kind errKind // a protocol-generic error, named per protocol when written
}

type errKind int

const (
	kindNone errKind = iota
	kindUnknownOperation
	kindMalformed
	kindMissing
)

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf is an *Error with code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorStatus is an *Error with an explicit HTTP status.
func ErrorStatus(status int, code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Status: status}
}

// Invalid is the protocol's error for a malformed or invalid parameter:
// InvalidParameterValue (EC2), ValidationError (query), ValidationException
// (JSON), InvalidInput (REST-XML).
func Invalid(format string, args ...any) *Error { return malformed(format, args...) }

// Missing is the protocol's error for a missing required parameter:
// MissingParameter (EC2), ValidationError (query), ValidationException
// (JSON), InvalidInput (REST-XML).
func Missing(format string, args ...any) *Error {
	return &Error{Message: fmt.Sprintf(format, args...), kind: kindMissing}
}

func malformed(format string, args ...any) *Error {
	return &Error{Message: fmt.Sprintf(format, args...), kind: kindMalformed}
}

func unknownOperation(format string, args ...any) *Error {
	return &Error{Message: fmt.Sprintf(format, args...), kind: kindUnknownOperation}
}

// resolve fills in the code and status of e for protocol p and model m.
func (e *Error) resolve(m *Model) *Error {
	out := *e
	p := ""
	if m != nil {
		p = m.Metadata.Protocol
	}
	if out.Code == "" {
		switch out.kind {
		case kindUnknownOperation:
			out.Code = map[string]string{"json": "UnknownOperationException", "rest-xml": "UnknownOperation"}[p]
			if out.Code == "" {
				out.Code = "InvalidAction"
			}
			if p == "rest-xml" {
				out.Status = http.StatusNotFound
			}
		case kindMalformed:
			out.Code = map[string]string{"ec2": "InvalidParameterValue", "query": "ValidationError", "json": "ValidationException", "rest-xml": "InvalidInput"}[p]
		case kindMissing:
			out.Code = map[string]string{"ec2": "MissingParameter", "query": "ValidationError", "json": "ValidationException", "rest-xml": "InvalidInput"}[p]
		}
		if out.Code == "" {
			out.Code = "InvalidParameterValue"
		}
	}
	if out.Status == 0 && m != nil {
		if s, ok := m.errors[out.Code]; ok && s.Error != nil && s.Error.HTTPStatusCode != 0 {
			out.Status = s.Error.HTTPStatusCode
		}
	}
	if out.Status == 0 {
		out.Status = http.StatusBadRequest
	}
	return &out
}

// internalError is what a handler's non-AWS error becomes: its text stays in
// the sim's log, the client sees InternalError.
func internalError(err error) *Error {
	var ae *Error
	if errors.As(err, &ae) {
		return ae
	}
	return &Error{Code: "InternalError", Message: "bake sim: " + err.Error(), Status: http.StatusInternalServerError}
}

// sender reports whether the error is the caller's fault (query protocols
// write it as <Type>Sender</Type>).
func (e *Error) sender() bool { return e.Status < 500 }

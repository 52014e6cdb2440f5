package core

import (
	"net/http"
	"strings"
)

// Request is what a handler knows about the call besides its input.
type Request struct {
	Service   string // the model name: ec2, autoscaling, elbv2, route53, ssm, sts
	Operation string
	Region    string // from the SigV4 credential scope, else the server's default
	AccessKey string // from the SigV4 credential, if signed
	AccountID string
	RequestID string
	HTTP      *http.Request
}

// credentialScope parses the SigV4 Authorization header (any signature is
// accepted) into access key, region and signing service name.
func credentialScope(r *http.Request) (key, region, service string) {
	auth := r.Header.Get("Authorization")
	cred := ""
	if i := strings.Index(auth, "Credential="); i >= 0 {
		cred = auth[i+len("Credential="):]
		if j := strings.IndexAny(cred, ", "); j >= 0 {
			cred = cred[:j]
		}
	} else {
		cred = r.URL.Query().Get("X-Amz-Credential")
	}
	parts := strings.Split(cred, "/")
	if len(parts) != 5 {
		return "", "", ""
	}
	return parts[0], parts[2], parts[3]
}

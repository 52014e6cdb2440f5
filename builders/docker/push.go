package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"

	"github.com/distribution/reference"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/registry"

	"github.com/bakehq/bake/images"
)

// Push pushes ref with credentials from login_* when given, else from
// the standard docker config (~/.docker/config.json, credential helpers
// included). It returns the pushed manifest digest when the engine says.
func Push(ctx context.Context, api API, ref, server, user, password string) (string, error) {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return "", fmt.Errorf("push %s: %w", ref, err)
	}
	domain := reference.Domain(named)
	auth := registry.AuthConfig{ServerAddress: server, Username: user, Password: password}
	if user == "" {
		if auth, err = images.DockerConfigAuth(domain); err != nil {
			return "", fmt.Errorf("push %s: %w", ref, err)
		}
	}
	enc, err := registry.EncodeAuthConfig(auth)
	if err != nil {
		return "", fmt.Errorf("push %s: encode credentials: %w", ref, err)
	}
	rc, err := api.ImagePush(ctx, ref, image.PushOptions{RegistryAuth: enc})
	if err != nil {
		return "", fmt.Errorf("push %s: %w", ref, err)
	}
	defer rc.Close()
	var digest string
	err = readJSONStreamFunc(rc, func(m jsonMessage) {
		if d := digestRE.FindString(m.Status); d != "" {
			digest = d
		}
		if m.Aux != nil {
			var aux struct{ Digest string }
			if json.Unmarshal(*m.Aux, &aux) == nil && aux.Digest != "" {
				digest = aux.Digest
			}
		}
	})
	if err != nil {
		return "", fmt.Errorf("push %s to %s: %w (is the registry running and are you logged in? docker login %s)", ref, domain, err, domain)
	}
	return digest, nil
}

var digestRE = regexp.MustCompile(`sha256:[0-9a-f]{64}`)

type jsonMessage struct {
	Status      string                    `json:"status"`
	Error       string                    `json:"error"`
	ErrorDetail *struct{ Message string } `json:"errorDetail"`
	Aux         *json.RawMessage          `json:"aux"`
}

// readJSONStream drains an engine progress stream and returns the error
// it reports, if any.
func readJSONStream(r io.Reader) error { return readJSONStreamFunc(r, nil) }

func readJSONStreamFunc(r io.Reader, each func(jsonMessage)) error {
	dec := json.NewDecoder(r)
	for {
		var m jsonMessage
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
		if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
			return errors.New(m.ErrorDetail.Message)
		}
		if m.Error != "" {
			return errors.New(m.Error)
		}
		if each != nil {
			each(m)
		}
	}
}

// ReadJSONStream drains an engine progress stream (pull, push, import)
// and returns the error it reports, if any.
func ReadJSONStream(r io.Reader) error { return readJSONStream(r) }

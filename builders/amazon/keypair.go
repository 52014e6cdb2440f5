package amazon

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	sshcomm "github.com/bakehq/bake/communicators/ssh"
)

// importKeyPair makes an ed25519 key in memory and imports its public
// half as a temporary key pair; the private half never leaves memory.
func importKeyPair(ctx context.Context, s *state) error {
	key, err := sshcomm.NewEphemeralKey()
	if err != nil {
		return err
	}
	s.key = key
	s.keyName = s.resourceName()
	_, err = s.api.ImportKeyPair(ctx, &ec2.ImportKeyPairInput{
		KeyName:           aws.String(s.keyName),
		PublicKeyMaterial: []byte(key.AuthorizedKey("")),
		TagSpecifications: []types.TagSpecification{tagSpec(types.ResourceTypeKeyPair, s.runTags())},
	})
	if err != nil {
		return fmt.Errorf("import key pair %s: %w", s.keyName, err)
	}
	s.log.Info(fmt.Sprintf("key pair %s imported (ed25519 %s, made in memory for this bake)", s.keyName, key.Fingerprint()))
	return nil
}

// deleteKeyPair removes the temporary key pair; a missing one is done.
func deleteKeyPair(ctx context.Context, s *state) error {
	if s.keyName == "" {
		return nil
	}
	_, err := s.api.DeleteKeyPair(ctx, &ec2.DeleteKeyPairInput{KeyName: aws.String(s.keyName)})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("delete key pair %s: %w", s.keyName, err)
	}
	s.log.Info("key pair " + s.keyName + " deleted")
	s.keyName = ""
	return nil
}

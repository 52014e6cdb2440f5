package amazon

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	sshcomm "github.com/bakehq/bake/communicators/ssh"
	"github.com/bakehq/bake/internal/awserr"
)

// importKeyPair makes an ed25519 key in memory and imports its public
// half as a temporary key pair; the private half never leaves memory.
// With ssh_keypair_name the instance launches with that key pair, and
// with ssh_private_key_file, ssh_agent_auth or ssh_password alone with
// none, as in Packer: bake then imports nothing.
func importKeyPair(ctx context.Context, s *state) error {
	if pc := s.cfg.pc; pc != nil {
		cm := pc.Comm
		if cm.Type == "none" {
			s.ownKey = true
			return nil
		}
		if cm.SSHKeyPairName != "" || cm.SSHPrivateKeyFile != "" || cm.SSHAgentAuth || cm.SSHPassword != "" {
			s.ownKey, s.keyName = true, cm.SSHKeyPairName
			if s.keyName != "" {
				s.log.Info("using key pair " + s.keyName + " (ssh_keypair_name)")
			}
			return nil
		}
	}
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
	if s.keyName == "" || s.ownKey {
		return nil
	}
	_, err := s.api.DeleteKeyPair(ctx, &ec2.DeleteKeyPairInput{KeyName: aws.String(s.keyName)})
	if err != nil && !awserr.NotFound(err) {
		return fmt.Errorf("delete key pair %s: %w", s.keyName, err)
	}
	s.log.Info("key pair " + s.keyName + " deleted")
	s.keyName = ""
	return nil
}

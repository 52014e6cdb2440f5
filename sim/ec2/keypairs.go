package ec2

import (
	"context"
	"crypto/ed25519"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"golang.org/x/crypto/ssh"

	"github.com/bakehq/bake/sim/core"
)

func colonHex(b []byte) string {
	parts := make([]string, len(b))
	for i, x := range b {
		parts[i] = fmt.Sprintf("%02x", x)
	}
	return strings.Join(parts, ":")
}

// newKey makes a key pair as EC2 does: an RSA key in PEM (PKCS#1) with the
// SHA-1 fingerprint of its PKCS#8 form, or an ED25519 key in OpenSSH form
// with its SHA-256 fingerprint.
func newKey(typ types.KeyType) (material, authorized, fingerprint string, err error) {
	switch typ {
	case types.KeyTypeEd25519:
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return "", "", "", fmt.Errorf("generate an ed25519 key: %w", err)
		}
		blk, err := ssh.MarshalPrivateKey(priv, "")
		if err != nil {
			return "", "", "", fmt.Errorf("encode an ed25519 key: %w", err)
		}
		spub, err := ssh.NewPublicKey(pub)
		if err != nil {
			return "", "", "", fmt.Errorf("encode an ed25519 key: %w", err)
		}
		sum := sha256.Sum256(spub.Marshal())
		return string(pem.EncodeToMemory(blk)), string(ssh.MarshalAuthorizedKey(spub)), base64.StdEncoding.EncodeToString(sum[:]), nil
	default:
		priv, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return "", "", "", fmt.Errorf("generate an rsa key: %w", err)
		}
		spub, err := ssh.NewPublicKey(&priv.PublicKey)
		if err != nil {
			return "", "", "", fmt.Errorf("encode an rsa key: %w", err)
		}
		p8, err := x509.MarshalPKCS8PrivateKey(priv)
		if err != nil {
			return "", "", "", fmt.Errorf("encode an rsa key: %w", err)
		}
		sum := sha1.Sum(p8)
		material := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(priv)})
		return string(material), string(ssh.MarshalAuthorizedKey(spub)), colonHex(sum[:]), nil
	}
}

func (e *EC2) createKeyPair(_ context.Context, _ *core.Request, in *ec2.CreateKeyPairInput) (*ec2.CreateKeyPairOutput, error) {
	name := deref(in.KeyName)
	if name == "" || len(name) > 255 {
		return nil, core.Errorf("InvalidParameterValue", "Value for parameter KeyName is invalid: must be 1 to 255 characters")
	}
	typ := in.KeyType
	if typ == "" {
		typ = types.KeyTypeRsa
	}
	if typ != types.KeyTypeRsa && typ != types.KeyTypeEd25519 {
		return nil, core.Errorf("InvalidParameterValue", "Value (%s) for parameter keyType is invalid.", typ)
	}
	if in.KeyFormat == types.KeyFormatPpk {
		return nil, core.Errorf("InvalidParameterValue", "bake sim makes key pairs in pem format only")
	}
	e.mu.Lock()
	if _, dup := e.st.KeyPairs[name]; dup {
		e.mu.Unlock()
		return nil, core.Errorf("InvalidKeyPair.Duplicate", "The keypair already exists")
	}
	e.mu.Unlock()
	material, authorized, fp, err := newKey(typ)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, dup := e.st.KeyPairs[name]; dup {
		return nil, core.Errorf("InvalidKeyPair.Duplicate", "The keypair already exists")
	}
	k := e.addKey(name, typ, authorized, fp)
	e.tagsFor(*k.KeyPairId, types.ResourceTypeKeyPair, in.TagSpecifications)
	e.save()
	return &ec2.CreateKeyPairOutput{KeyName: k.KeyName, KeyPairId: k.KeyPairId, KeyFingerprint: k.KeyFingerprint,
		KeyMaterial: &material, Tags: tagList(e.st.Tags[*k.KeyPairId])}, nil
}

func (e *EC2) addKey(name string, typ types.KeyType, authorized, fp string) *keyPair {
	id := core.NewID("key")
	k := &keyPair{PublicKey: strings.TrimSpace(authorized)}
	k.KeyPairInfo = types.KeyPairInfo{KeyName: &name, KeyPairId: &id, KeyType: typ, KeyFingerprint: &fp, CreateTime: timePtr(time.Now().Truncate(time.Millisecond))}
	e.st.KeyPairs[name] = k
	return k
}

func (e *EC2) importKeyPair(_ context.Context, _ *core.Request, in *ec2.ImportKeyPairInput) (*ec2.ImportKeyPairOutput, error) {
	name := deref(in.KeyName)
	pub, _, _, _, err := ssh.ParseAuthorizedKey(in.PublicKeyMaterial)
	if err != nil {
		return nil, core.Errorf("InvalidKey.Format", "Key is not in valid OpenSSH public key format")
	}
	typ := types.KeyTypeRsa
	fp := ""
	switch pub.Type() {
	case ssh.KeyAlgoED25519:
		typ = types.KeyTypeEd25519
		sum := sha256.Sum256(pub.Marshal())
		fp = base64.StdEncoding.EncodeToString(sum[:])
	case ssh.KeyAlgoRSA:
		cp, ok := pub.(ssh.CryptoPublicKey)
		if !ok {
			return nil, core.Errorf("InvalidKey.Format", "Key is not in valid OpenSSH public key format")
		}
		der, err := x509.MarshalPKIXPublicKey(cp.CryptoPublicKey())
		if err != nil {
			return nil, core.Errorf("InvalidKey.Format", "Key is not in valid OpenSSH public key format")
		}
		sum := md5.Sum(der)
		fp = colonHex(sum[:])
	default:
		return nil, core.Errorf("InvalidKey.Format", "Key type %s is not supported: import an RSA or ED25519 key", pub.Type())
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, dup := e.st.KeyPairs[name]; dup {
		return nil, core.Errorf("InvalidKeyPair.Duplicate", "The keypair already exists")
	}
	k := e.addKey(name, typ, string(ssh.MarshalAuthorizedKey(pub)), fp)
	e.tagsFor(*k.KeyPairId, types.ResourceTypeKeyPair, in.TagSpecifications)
	e.save()
	return &ec2.ImportKeyPairOutput{KeyName: k.KeyName, KeyPairId: k.KeyPairId, KeyFingerprint: k.KeyFingerprint, Tags: tagList(e.st.Tags[*k.KeyPairId])}, nil
}

func (e *EC2) deleteKeyPair(_ context.Context, _ *core.Request, in *ec2.DeleteKeyPairInput) (*ec2.DeleteKeyPairOutput, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := &ec2.DeleteKeyPairOutput{Return: boolPtr(true)}
	for name, k := range e.st.KeyPairs {
		if name == deref(in.KeyName) || *k.KeyPairId == deref(in.KeyPairId) {
			delete(e.st.KeyPairs, name)
			delete(e.st.Tags, *k.KeyPairId)
			out.KeyPairId = k.KeyPairId
		}
	}
	if in.KeyName == nil && in.KeyPairId == nil {
		return nil, core.Missing("The request must contain the parameter KeyName or KeyPairId")
	}
	e.save()
	return out, nil
}

func (e *EC2) describeKeyPairs(_ context.Context, _ *core.Request, in *ec2.DescribeKeyPairsInput) (*ec2.DescribeKeyPairsOutput, error) {
	fs := filterSet(in.Filters)
	if err := fs.known("key-name", "key-pair-id", "fingerprint", "key-type"); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, n := range in.KeyNames {
		if _, ok := e.st.KeyPairs[n]; !ok {
			return nil, core.Errorf("InvalidKeyPair.NotFound", "The key pair '%s' does not exist", n)
		}
	}
	byID := map[string]*keyPair{}
	for _, k := range e.st.KeyPairs {
		byID[*k.KeyPairId] = k
	}
	for _, id := range in.KeyPairIds {
		if _, ok := byID[id]; !ok {
			return nil, core.Errorf("InvalidKeyPair.NotFound", "The key pair '%s' does not exist", id)
		}
	}
	out := &ec2.DescribeKeyPairsOutput{KeyPairs: []types.KeyPairInfo{}}
	for _, name := range slices.Sorted(maps.Keys(e.st.KeyPairs)) {
		k := e.st.KeyPairs[name]
		if len(in.KeyNames) > 0 && !contains(in.KeyNames, name) || len(in.KeyPairIds) > 0 && !contains(in.KeyPairIds, *k.KeyPairId) {
			continue
		}
		tags := e.st.Tags[*k.KeyPairId]
		if !fs.match(func(n string) []string {
			if vals, ok := tagValues(tags, n); ok {
				return vals
			}
			return map[string][]string{"key-name": {name}, "key-pair-id": {*k.KeyPairId}, "fingerprint": {deref(k.KeyFingerprint)}, "key-type": {string(k.KeyType)}}[n]
		}) {
			continue
		}
		x := k.KeyPairInfo
		x.Tags = tagList(tags)
		if deref(in.IncludePublicKey) {
			x.PublicKey = strPtr(k.PublicKey)
		}
		out.KeyPairs = append(out.KeyPairs, x)
	}
	return out, nil
}

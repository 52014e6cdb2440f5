package secretsmanager_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"

	"github.com/bakehq/bake/internal/testenv"
	"github.com/bakehq/bake/sim/core"
	"github.com/bakehq/bake/sim/secretsmanager"
)

// call is one captured response, in the form sim/testdata/
// validate_responses.py reads.
type call struct {
	Service   string            `json:"service"`
	Operation string            `json:"operation"`
	Status    int               `json:"status"`
	Headers   map[string]string `json:"headers"`
	Body      string            `json:"body"`
}

// recorder keeps every response of h.
type recorder struct {
	h     http.Handler
	mu    sync.Mutex
	calls []call
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	rec := httptest.NewRecorder()
	r.h.ServeHTTP(rec, req)
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
	_, op, _ := strings.Cut(req.Header.Get("X-Amz-Target"), ".")
	c := call{Service: "secretsmanager", Operation: op, Status: rec.Code, Headers: map[string]string{}, Body: base64.StdEncoding.EncodeToString(rec.Body.Bytes())}
	for k := range rec.Header() {
		c.Headers[k] = rec.Header().Get(k)
	}
	r.mu.Lock()
	r.calls = append(r.calls, c)
	r.mu.Unlock()
}

// validate checks every captured response with botocore's own parsers
// and model (sim/testdata/validate_responses.py).
func (r *recorder) validate(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/usr/lib/python3/dist-packages/botocore"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Debian's python3-botocore is not installed: apt-get install python3-botocore")
		}
		testenv.SkipOrFail(t, "Debian's python3-botocore is not installed: %v", err)
	}
	r.mu.Lock()
	var b bytes.Buffer
	for _, c := range r.calls {
		if err := json.NewEncoder(&b).Encode(c); err != nil {
			t.Fatal(err)
		}
	}
	r.mu.Unlock()
	path := filepath.Join(t.TempDir(), "calls.jsonl")
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "/usr/bin/python3", "../testdata/validate_responses.py", path).CombinedOutput()
	if err != nil {
		t.Fatalf("responses do not parse under botocore's model: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}

// serve runs a core server with only Secrets Manager on a loopback port.
func serve(t *testing.T) string {
	t.Helper()
	return serveRecorded(t).url
}

type recorded struct {
	url string
	rec *recorder
}

func serveRecorded(t *testing.T) recorded {
	t.Helper()
	srv := core.NewServer(core.Config{Store: &core.Store{}})
	_, svc, err := secretsmanager.New(srv)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Add(svc); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{h: srv}
	hs := httptest.NewServer(rec)
	t.Cleanup(hs.Close)
	return recorded{url: hs.URL, rec: rec}
}

func client(t *testing.T, endpoint string) *sm.Client {
	t.Helper()
	cfg, err := awsconfig.LoadDefaultConfig(context.Background(), awsconfig.WithRegion("us-east-1"),
		awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKIDSIMTEST", "secret", "")),
		awsconfig.WithRetryMaxAttempts(1))
	if err != nil {
		t.Fatal(err)
	}
	return sm.NewFromConfig(cfg, func(o *sm.Options) { o.BaseEndpoint = aws.String(endpoint) })
}

func code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// TestSDK drives a secret through its life with aws-sdk-go-v2: create,
// new versions moving AWSCURRENT and AWSPREVIOUS, reads by stage and id,
// list with filters, delete with and without recovery.
func TestSDK(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := serveRecorded(t)
	c := client(t, srv.url)

	created, err := c.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String("prod/db"), SecretString: aws.String(`{"user":"app","pass":"s3cr3t"}`),
		Description: aws.String("the database"), Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("core")}}})
	if err != nil {
		t.Fatal(err)
	}
	if arn := aws.ToString(created.ARN); !strings.HasPrefix(arn, "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-") || len(arn) != len("arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-")+6 {
		t.Fatalf("ARN = %s", arn)
	}
	v1 := aws.ToString(created.VersionId)
	if _, err := c.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String("prod/db"), SecretString: aws.String("x")}); code(err) != "ResourceExistsException" {
		t.Fatalf("second create: %v", err)
	}
	put, err := c.PutSecretValue(ctx, &sm.PutSecretValueInput{SecretId: created.ARN, SecretString: aws.String(`{"user":"app","pass":"n3w"}`)})
	if err != nil {
		t.Fatal(err)
	}
	v2 := aws.ToString(put.VersionId)
	if v2 == v1 || len(put.VersionStages) != 1 || put.VersionStages[0] != "AWSCURRENT" {
		t.Fatalf("put: %s %v", v2, put.VersionStages)
	}

	got, err := c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String("prod/db")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(got.SecretString) != `{"user":"app","pass":"n3w"}` || aws.ToString(got.VersionId) != v2 {
		t.Fatalf("current = %s %s", aws.ToString(got.SecretString), aws.ToString(got.VersionId))
	}
	prev, err := c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String("prod/db"), VersionStage: aws.String("AWSPREVIOUS")})
	if err != nil || aws.ToString(prev.VersionId) != v1 {
		t.Fatalf("previous = %v, %v", prev, err)
	}
	byID, err := c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String("prod/db"), VersionId: aws.String(v1)})
	if err != nil || aws.ToString(byID.SecretString) != `{"user":"app","pass":"s3cr3t"}` {
		t.Fatalf("by id = %v, %v", byID, err)
	}
	if _, err := c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String("nope")}); code(err) != "ResourceNotFoundException" {
		t.Fatalf("missing secret: %v", err)
	}
	if _, err := c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String("prod/db"), VersionStage: aws.String("NOPE")}); code(err) != "ResourceNotFoundException" {
		t.Fatalf("missing stage: %v", err)
	}

	bin, err := c.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String("blob"), SecretBinary: []byte{0, 1, 2, 0xff}})
	if err != nil {
		t.Fatal(err)
	}
	gotBin, err := c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: bin.ARN})
	if err != nil || !bytes.Equal(gotBin.SecretBinary, []byte{0, 1, 2, 0xff}) || gotBin.SecretString != nil {
		t.Fatalf("binary = %v, %v", gotBin, err)
	}
	if _, err := c.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String("both"), SecretBinary: []byte{1}, SecretString: aws.String("x")}); code(err) != "InvalidParameterException" {
		t.Fatalf("both values: %v", err)
	}

	desc, err := c.DescribeSecret(ctx, &sm.DescribeSecretInput{SecretId: aws.String("prod/db")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(desc.Description) != "the database" || len(desc.VersionIdsToStages) != 2 || desc.VersionIdsToStages[v1][0] != "AWSPREVIOUS" || len(desc.Tags) != 1 {
		t.Fatalf("describe = %+v", desc)
	}

	list, err := c.ListSecrets(ctx, &sm.ListSecretsInput{Filters: []types.Filter{{Key: types.FilterNameStringTypeTagValue, Values: []string{"core"}}}})
	if err != nil || len(list.SecretList) != 1 || aws.ToString(list.SecretList[0].Name) != "prod/db" {
		t.Fatalf("list by tag = %+v, %v", list, err)
	}
	all, err := c.ListSecrets(ctx, &sm.ListSecretsInput{MaxResults: aws.Int32(1)})
	if err != nil || len(all.SecretList) != 1 || all.NextToken == nil {
		t.Fatalf("list page 1 = %+v, %v", all, err)
	}
	rest, err := c.ListSecrets(ctx, &sm.ListSecretsInput{MaxResults: aws.Int32(1), NextToken: all.NextToken})
	if err != nil || len(rest.SecretList) != 1 || rest.NextToken != nil || aws.ToString(rest.SecretList[0].Name) == aws.ToString(all.SecretList[0].Name) {
		t.Fatalf("list page 2 = %+v, %v", rest, err)
	}

	del, err := c.DeleteSecret(ctx, &sm.DeleteSecretInput{SecretId: aws.String("prod/db"), RecoveryWindowInDays: aws.Int64(7)})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(aws.ToTime(del.DeletionDate)); d < 6*24*time.Hour || d > 8*24*time.Hour {
		t.Fatalf("deletion in %v", d)
	}
	if _, err := c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String("prod/db")}); code(err) != "InvalidRequestException" {
		t.Fatalf("get a deleted secret: %v", err)
	}
	if _, err := c.DeleteSecret(ctx, &sm.DeleteSecretInput{SecretId: aws.String("blob"), RecoveryWindowInDays: aws.Int64(7), ForceDeleteWithoutRecovery: aws.Bool(true)}); code(err) != "InvalidParameterException" {
		t.Fatalf("window and force: %v", err)
	}
	if _, err := c.DeleteSecret(ctx, &sm.DeleteSecretInput{SecretId: aws.String("blob"), ForceDeleteWithoutRecovery: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DescribeSecret(ctx, &sm.DescribeSecretInput{SecretId: aws.String("blob")}); code(err) != "ResourceNotFoundException" {
		t.Fatalf("describe a force-deleted secret: %v", err)
	}
	left, err := c.ListSecrets(ctx, &sm.ListSecretsInput{})
	if err != nil || len(left.SecretList) != 0 {
		t.Fatalf("list after deletes = %+v, %v", left, err)
	}
	// Every response, successes and errors, parses under botocore's model.
	srv.rec.validate(t)
}

const awsBin = "/usr/bin/aws"

// TestAWSCLI creates and reads secrets with Debian's awscli v2, which
// parses the responses with botocore's model.
func TestAWSCLI(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat(awsBin); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Debian's awscli is not installed (%s): apt-get install awscli", awsBin)
		}
		testenv.SkipOrFail(t, "Debian's awscli is not installed (%s): %v", awsBin, err)
	}
	endpoint := serve(t)
	run := func(args ...string) (map[string]any, string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, awsBin, append([]string{"--endpoint-url", endpoint, "--region", "us-east-1", "--output", "json"}, args...)...)
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=AKIDSIMTEST", "AWS_SECRET_ACCESS_KEY=secret", "AWS_PAGER=",
			"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_MAX_ATTEMPTS=1")
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		m := map[string]any{}
		if err == nil && len(bytes.TrimSpace(out.Bytes())) > 0 {
			if jerr := json.Unmarshal(out.Bytes(), &m); jerr != nil {
				t.Fatalf("aws %s: output is not JSON: %v\n%s", strings.Join(args, " "), jerr, out.Bytes())
			}
		}
		return m, errb.String(), err
	}
	ok := func(args ...string) map[string]any {
		t.Helper()
		m, errb, err := run(args...)
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, errb)
		}
		return m
	}

	created := ok("secretsmanager", "create-secret", "--name", "cli/token", "--secret-string", "tok-1")
	if created["Name"] != "cli/token" || !strings.Contains(created["ARN"].(string), ":secret:cli/token-") || created["VersionId"] == "" {
		t.Fatalf("create-secret = %v", created)
	}
	ok("secretsmanager", "put-secret-value", "--secret-id", "cli/token", "--secret-string", "tok-2")
	got := ok("secretsmanager", "get-secret-value", "--secret-id", created["ARN"].(string))
	if got["SecretString"] != "tok-2" || got["Name"] != "cli/token" {
		t.Fatalf("get-secret-value = %v", got)
	}
	prev := ok("secretsmanager", "get-secret-value", "--secret-id", "cli/token", "--version-stage", "AWSPREVIOUS")
	if prev["SecretString"] != "tok-1" || prev["VersionId"] != created["VersionId"] {
		t.Fatalf("previous = %v", prev)
	}
	desc := ok("secretsmanager", "describe-secret", "--secret-id", "cli/token")
	if len(desc["VersionIdsToStages"].(map[string]any)) != 2 {
		t.Fatalf("describe-secret = %v", desc)
	}
	if list := ok("secretsmanager", "list-secrets"); len(list["SecretList"].([]any)) != 1 {
		t.Fatalf("list-secrets = %v", list)
	}
	if _, errb, err := run("secretsmanager", "get-secret-value", "--secret-id", "nope"); err == nil || !strings.Contains(errb, "(ResourceNotFoundException)") {
		t.Fatalf("get a missing secret: %v %s", err, errb)
	}
	ok("secretsmanager", "delete-secret", "--secret-id", "cli/token", "--force-delete-without-recovery")
	if list := ok("secretsmanager", "list-secrets"); len(list["SecretList"].([]any)) != 0 {
		t.Fatalf("list-secrets after delete = %v", list)
	}
}

package route53

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/miekg/dns"
)

// FuzzChangeRecord feeds arbitrary record sets through the checks and the
// apply of ChangeResourceRecordSets: nothing panics, and whatever is
// accepted is a fully-qualified name inside the zone, never a second
// simple set of one name and type.
func FuzzChangeRecord(f *testing.F) {
	f.Add("www.example.com", "A", "127.0.0.1", int64(300), "", int64(-1), "CREATE")
	f.Add("example.com", "CNAME", "x.example.com", int64(60), "", int64(-1), "UPSERT")
	f.Add("w.example.com", "A", "127.0.0.2", int64(1), "blue", int64(10), "CREATE")
	f.Add("*.example.com", "TXT", `"hi"`, int64(0), "", int64(-1), "DELETE")
	f.Add("..", "MX", "10 mail.", int64(-5), "x", int64(300), "BOGUS")
	f.Fuzz(func(t *testing.T, name, typ, value string, ttl int64, setID string, weight int64, action string) {
		const apex = "example.com."
		rs := types.ResourceRecordSet{Name: aws.String(name), Type: types.RRType(typ), TTL: aws.Int64(ttl),
			ResourceRecords: []types.ResourceRecord{{Value: aws.String(value)}}}
		if setID != "" {
			rs.SetIdentifier = aws.String(setID)
		}
		if weight >= 0 {
			rs.Weight = aws.Int64(weight)
		}
		have := []types.ResourceRecordSet{
			{Name: aws.String(apex), Type: types.RRTypeSoa, TTL: aws.Int64(900), ResourceRecords: []types.ResourceRecord{{Value: aws.String("ns. host. 1 2 3 4 5")}}},
			{Name: aws.String("www.example.com."), Type: types.RRTypeA, TTL: aws.Int64(300), ResourceRecords: []types.ResourceRecord{{Value: aws.String("127.0.0.1")}}},
		}
		checked, err := checkRecord(apex, types.ChangeAction(action), rs)
		if err != nil {
			return
		}
		n := aws.ToString(checked.Name)
		if !dns.IsFqdn(n) || !dns.IsSubDomain(apex, n) {
			t.Fatalf("accepted name %q outside %s", n, apex)
		}
		out, err := apply(apex, have, types.ChangeAction(action), checked)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, r := range out {
			if r.SetIdentifier != nil {
				continue
			}
			k := aws.ToString(r.Name) + " " + string(r.Type)
			if seen[k] {
				t.Fatalf("two simple record sets %s after %s %+v", k, action, checked)
			}
			seen[k] = true
		}
	})
}

package core

import (
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/route53"
)

// FuzzDecodeQuery feeds arbitrary form bodies to the EC2 and awsquery
// decoders: they may refuse input, never panic.
func FuzzDecodeQuery(f *testing.F) {
	for _, s := range []string{
		"Action=RunInstances&ImageId=ami-1&MinCount=1&MaxCount=2&TagSpecification.1.ResourceType=instance&TagSpecification.1.Tag.1.Key=a",
		"Filter.1.Name=name&Filter.1.Value.1=debian-*&Owner.1=self",
		"BlockDeviceMapping.1.Ebs.VolumeSize=x&NetworkInterface.1.SecurityGroupId.1=sg-1",
		"Tags.member.1.Key=k&Tags.member.1.Value=v&Attributes.member.1.Key=a&Matcher.HttpCode=200",
		"MinCount=99999999999999999999&UserData=%%%",
	} {
		f.Add(s)
	}
	ec2m, err := LoadModel("ec2")
	if err != nil {
		f.Fatal(err)
	}
	elbm, err := LoadModel("elbv2")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		_ = ec2m.decodeQuery(form, &ec2.RunInstancesInput{}, ec2m.Shapes[ec2m.Operations["RunInstances"].Input.Shape])
		_ = ec2m.decodeQuery(form, &ec2.DescribeImagesInput{}, ec2m.Shapes[ec2m.Operations["DescribeImages"].Input.Shape])
		_ = elbm.decodeQuery(form, &elasticloadbalancingv2.CreateTargetGroupInput{}, elbm.Shapes[elbm.Operations["CreateTargetGroup"].Input.Shape])
	})
}

// FuzzDecodeXML feeds arbitrary REST-XML bodies to the XML decoder.
func FuzzDecodeXML(f *testing.F) {
	f.Add(`<ChangeResourceRecordSetsRequest xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><ChangeBatch><Changes><Change><Action>UPSERT</Action><ResourceRecordSet><Name>a.</Name><Type>A</Type><TTL>60</TTL><ResourceRecords><ResourceRecord><Value>1.2.3.4</Value></ResourceRecord></ResourceRecords></ResourceRecordSet></Change></Changes></ChangeBatch></ChangeResourceRecordSetsRequest>`)
	f.Add(`<a><ChangeBatch><Changes>x</Changes></ChangeBatch></a>`)
	f.Add(`<a><ChangeBatch><Changes><Change><ResourceRecordSet><TTL>many</TTL></ResourceRecordSet></Change></Changes></ChangeBatch>`)
	m, err := LoadModel("route53")
	if err != nil {
		f.Fatal(err)
	}
	shape := m.Shapes[m.Operations["ChangeResourceRecordSets"].Input.Shape]
	f.Fuzz(func(t *testing.T, body string) {
		root, err := parseXML(strings.NewReader(body))
		if err != nil {
			return
		}
		in := &route53.ChangeResourceRecordSetsInput{}
		_ = m.decodeXML(root, reflect.ValueOf(in).Elem(), shape)
	})
}

package core

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

func BenchmarkEncodeDescribeInstances100(b *testing.B) {
	m, err := LoadModel("ec2")
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	out := &ec2.DescribeInstancesOutput{}
	for i := 0; i < 100; i++ {
		out.Reservations = append(out.Reservations, types.Reservation{ReservationId: aws.String("r-1"), Instances: []types.Instance{{
			InstanceId: aws.String("i-0123456789abcdef0"), ImageId: aws.String("ami-0123456789abcdef0"), LaunchTime: &now,
			State: &types.InstanceState{Name: types.InstanceStateNameRunning, Code: aws.Int32(16)}, PublicIpAddress: aws.String("127.0.16.1"),
			Placement: &types.Placement{AvailabilityZone: aws.String("us-east-1a")}, SecurityGroups: []types.GroupIdentifier{{GroupId: aws.String("sg-1"), GroupName: aws.String("default")}},
			Tags: []types.Tag{{Key: aws.String("Name"), Value: aws.String("web")}}, BlockDeviceMappings: []types.InstanceBlockDeviceMapping{{DeviceName: aws.String("/dev/xvda")}},
			NetworkInterfaces: []types.InstanceNetworkInterface{{NetworkInterfaceId: aws.String("eni-1"), PrivateIpAddress: aws.String("172.17.0.2")}},
		}}})
	}
	shape := m.Shapes[m.Operations["DescribeInstances"].Output.Shape]
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		e := &xmlEncoder{m: m, b: &buf, ec2: true}
		e.members(reflect.ValueOf(out), shape)
	}
	b.ReportMetric(float64(buf.Len()), "bytes")
}

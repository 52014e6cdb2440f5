package core

import (
	"net/url"
	"reflect"
	"strconv"
	"strings"
)

// decodeQuery fills in (a pointer to an SDK input struct) from the form
// parameters of an EC2 or awsquery request, following the model: EC2 lists
// are Name.N, query lists Name.member.N, query maps Name.entry.N.key.
func (m *Model) decodeQuery(form url.Values, in any, shape *Shape) error {
	d := &queryDecoder{m: m, form: form, ec2: m.Metadata.Protocol == "ec2", prefixes: map[string]bool{}}
	for k := range form {
		for i := 0; i < len(k); i++ {
			if k[i] == '.' {
				d.prefixes[k[:i]] = true
			}
		}
		d.prefixes[k] = true
	}
	return d.structure(reflect.ValueOf(in).Elem(), shape, "")
}

type queryDecoder struct {
	m        *Model
	form     url.Values
	ec2      bool
	prefixes map[string]bool // every key and every dotted prefix of a key
}

func (d *queryDecoder) key(name string, ref *Ref) string {
	if d.ec2 {
		if ref.QueryName != "" {
			return ref.QueryName
		}
		if ref.LocationName != "" {
			return strings.ToUpper(ref.LocationName[:1]) + ref.LocationName[1:]
		}
		return name
	}
	if ref.LocationName != "" {
		return ref.LocationName
	}
	return name
}

func (d *queryDecoder) structure(v reflect.Value, shape *Shape, prefix string) error {
	t := v.Type()
	for _, fp := range plan(t, shape) {
		i, name, ref := fp.index, fp.name, fp.ref
		key := prefix + d.key(name, ref)
		if !d.prefixes[key] {
			continue
		}
		if err := d.value(v.Field(i), ref, key); err != nil {
			return err
		}
	}
	return nil
}

func (d *queryDecoder) value(v reflect.Value, ref *Ref, key string) error {
	shape := d.m.shape(ref)
	switch shape.Type {
	case "structure":
		return d.structure(alloc(v), shape, key+".")
	case "list":
		base := key
		if !d.ec2 && !(ref.Flattened || shape.Flattened) {
			mname := "member"
			if shape.Member.LocationName != "" {
				mname = shape.Member.LocationName
			}
			base = key + "." + mname
		}
		v = alloc(v)
		if vals, ok := d.form[key]; ok && len(vals) == 1 && vals[0] == "" {
			v.Set(reflect.MakeSlice(v.Type(), 0, 0)) // an empty list
			return nil
		}
		out := reflect.MakeSlice(v.Type(), 0, 4)
		for n := 1; d.prefixes[base+"."+strconv.Itoa(n)]; n++ {
			elem := reflect.New(v.Type().Elem()).Elem()
			if err := d.value(elem, shape.Member, base+"."+strconv.Itoa(n)); err != nil {
				return err
			}
			out = reflect.Append(out, elem)
		}
		v.Set(out)
		return nil
	case "map":
		base := key
		if !(ref.Flattened || shape.Flattened) {
			base = key + ".entry"
		}
		kname, vname := "key", "value"
		if shape.Key.LocationName != "" {
			kname = shape.Key.LocationName
		}
		if shape.Value.LocationName != "" {
			vname = shape.Value.LocationName
		}
		v = alloc(v)
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
		}
		for n := 1; d.prefixes[base+"."+strconv.Itoa(n)]; n++ {
			p := base + "." + strconv.Itoa(n) + "."
			k := reflect.New(v.Type().Key()).Elem()
			if err := d.value(k, shape.Key, p+kname); err != nil {
				return err
			}
			val := reflect.New(v.Type().Elem()).Elem()
			if err := d.value(val, shape.Value, p+vname); err != nil {
				return err
			}
			v.SetMapIndex(k, val)
		}
		return nil
	}
	s, ok := d.form[key]
	if !ok || len(s) == 0 {
		return nil
	}
	if err := setScalar(alloc(v), s[0]); err != nil {
		return malformed("Invalid value for parameter %s: %v", key, err)
	}
	return nil
}

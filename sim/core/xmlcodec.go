package core

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// xmlEncoder writes an SDK output struct as the XML of the EC2, awsquery or
// REST-XML protocol, naming elements and wrapping lists as the model says.
type xmlEncoder struct {
	m   *Model
	b   *bytes.Buffer
	ec2 bool
}

func (e *xmlEncoder) escape(s string) {
	if !strings.ContainsAny(s, "<>&'\"\r\n\t") {
		e.b.WriteString(s)
		return
	}
	_ = xml.EscapeText(e.b, []byte(s)) // writes to a bytes.Buffer: never fails
}

func (e *xmlEncoder) open(name string) { e.b.WriteByte('<'); e.b.WriteString(name); e.b.WriteByte('>') }
func (e *xmlEncoder) end(name string) {
	e.b.WriteString("</")
	e.b.WriteString(name)
	e.b.WriteByte('>')
}

// members writes the members of struct v (no wrapper element).
func (e *xmlEncoder) members(v reflect.Value, shape *Shape) {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	for _, f := range plan(v.Type(), shape) {
		if f.ref.Location != "" && f.ref.Location != "body" {
			continue
		}
		e.value(v.Field(f.index), f.ref, f.el)
	}
}

func (e *xmlEncoder) value(v reflect.Value, ref *Ref, el string) {
	if v.Kind() == reflect.String && v.Len() == 0 {
		return // an unset enum: the SDK keeps enums as plain strings
	}
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	shape := e.m.shape(ref)
	switch shape.Type {
	case "structure":
		e.open(el)
		e.members(v, shape)
		e.end(el)
	case "list":
		if v.IsNil() {
			return
		}
		item := "member"
		if shape.Member.LocationName != "" {
			item = shape.Member.LocationName
		}
		if ref.Flattened || shape.Flattened {
			if shape.Member.LocationName == "" {
				item = el
			}
			for i := 0; i < v.Len(); i++ {
				e.value(v.Index(i), shape.Member, item)
			}
			return
		}
		e.open(el)
		for i := 0; i < v.Len(); i++ {
			e.value(v.Index(i), shape.Member, item)
		}
		e.end(el)
	case "map":
		if v.IsNil() {
			return
		}
		kname, vname := "key", "value"
		if shape.Key.LocationName != "" {
			kname = shape.Key.LocationName
		}
		if shape.Value.LocationName != "" {
			vname = shape.Value.LocationName
		}
		flat := ref.Flattened || shape.Flattened
		if !flat {
			e.open(el)
		}
		iter := v.MapRange()
		for iter.Next() {
			if flat {
				e.open(el)
			} else {
				e.open("entry")
			}
			e.value(iter.Key(), shape.Key, kname)
			e.value(iter.Value(), shape.Value, vname)
			if flat {
				e.end(el)
			} else {
				e.end("entry")
			}
		}
		if !flat {
			e.end(el)
		}
	default:
		if !isScalar(v.Type()) {
			return
		}
		e.open(el)
		e.escape(scalarString(v))
		e.end(el)
	}
}

// xmlNode is a parsed XML element, for decoding REST-XML request bodies.
type xmlNode struct {
	Name     string
	Text     string
	Children []*xmlNode
}

func parseXML(r io.Reader) (*xmlNode, error) {
	d := xml.NewDecoder(r)
	var stack []*xmlNode
	var root *xmlNode
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			n := &xmlNode{Name: t.Name.Local}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.Children = append(p.Children, n)
			} else if root == nil {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].Text += string(t)
			}
		}
	}
	if root == nil {
		return nil, fmt.Errorf("empty XML document")
	}
	return root, nil
}

// decodeXML fills struct v from the children of node, following shape.
func (m *Model) decodeXML(n *xmlNode, v reflect.Value, shape *Shape) error {
	v = alloc(v)
	t := v.Type()
	for _, fp := range plan(t, shape) {
		i, name, ref := fp.index, fp.name, fp.ref
		if ref.Location != "" && ref.Location != "body" {
			continue
		}
		el := name
		if ref.LocationName != "" {
			el = ref.LocationName
		}
		ms := m.shape(ref)
		var kids []*xmlNode
		for _, c := range n.Children {
			if c.Name == el {
				kids = append(kids, c)
			}
		}
		if len(kids) == 0 {
			continue
		}
		if err := m.decodeXMLValue(kids, v.Field(i), ref, ms); err != nil {
			return fmt.Errorf("%s: %w", el, err)
		}
	}
	return nil
}

func (m *Model) decodeXMLValue(nodes []*xmlNode, v reflect.Value, ref *Ref, shape *Shape) error {
	switch shape.Type {
	case "structure":
		return m.decodeXML(nodes[0], v, shape)
	case "list":
		v = alloc(v)
		items := nodes
		if !(ref.Flattened || shape.Flattened) {
			items = nodes[0].Children
		}
		out := reflect.MakeSlice(v.Type(), 0, len(items))
		for _, it := range items {
			elem := reflect.New(v.Type().Elem()).Elem()
			if err := m.decodeXMLValue([]*xmlNode{it}, elem, shape.Member, m.shape(shape.Member)); err != nil {
				return err
			}
			out = reflect.Append(out, elem)
		}
		v.Set(out)
		return nil
	case "map":
		return fmt.Errorf("maps in XML bodies are not supported")
	}
	return setScalar(alloc(v), strings.TrimSpace(nodes[0].Text))
}

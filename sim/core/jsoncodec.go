package core

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
)

// jsonValue turns an SDK output value into the JSON protocol's form: member
// names as keys, timestamps as epoch seconds, blobs as base64.
func (m *Model) jsonValue(v reflect.Value, shape *Shape) any {
	if v.Kind() == reflect.String && v.Len() == 0 {
		return nil // an unset enum: the SDK keeps enums as plain strings
	}
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	switch shape.Type {
	case "structure":
		out := map[string]any{}
		for _, f := range plan(v.Type(), shape) {
			if x := m.jsonValue(v.Field(f.index), m.shape(f.ref)); x != nil {
				out[f.name] = x
			}
		}
		return out
	case "list":
		if v.IsNil() {
			return nil
		}
		out := make([]any, v.Len())
		for i := range out {
			out[i] = m.jsonValue(v.Index(i), m.shape(shape.Member))
		}
		return out
	case "map":
		if v.IsNil() {
			return nil
		}
		out := map[string]any{}
		iter := v.MapRange()
		for iter.Next() {
			out[scalarString(iter.Key())] = m.jsonValue(iter.Value(), m.shape(shape.Value))
		}
		return out
	case "timestamp":
		if v.Type() == timeType {
			t := v.Interface().(interface{ UnixMilli() int64 }).UnixMilli()
			return json.Number(strconv.FormatFloat(float64(t)/1000, 'f', -1, 64))
		}
	case "blob":
		return base64.StdEncoding.EncodeToString(v.Bytes())
	}
	if !isScalar(v.Type()) {
		return nil
	}
	return v.Interface()
}

// decodeJSON fills v (a pointer to an SDK input struct) from a JSON protocol
// body, following shape.
func (m *Model) decodeJSON(data any, v reflect.Value, shape *Shape) error {
	if data == nil {
		return nil
	}
	switch shape.Type {
	case "structure":
		obj, ok := data.(map[string]any)
		if !ok {
			return fmt.Errorf("expected an object")
		}
		v = alloc(v)
		t := v.Type()
		for _, fp := range plan(t, shape) {
			i, name, ref := fp.index, fp.name, fp.ref
			x, ok := obj[name]
			if !ok {
				continue
			}
			if err := m.decodeJSON(x, v.Field(i), m.shape(ref)); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
		return nil
	case "list":
		arr, ok := data.([]any)
		if !ok {
			return fmt.Errorf("expected an array")
		}
		v = alloc(v)
		out := reflect.MakeSlice(v.Type(), len(arr), len(arr))
		for i, x := range arr {
			if err := m.decodeJSON(x, out.Index(i), m.shape(shape.Member)); err != nil {
				return err
			}
		}
		v.Set(out)
		return nil
	case "map":
		obj, ok := data.(map[string]any)
		if !ok {
			return fmt.Errorf("expected an object")
		}
		v = alloc(v)
		out := reflect.MakeMapWithSize(v.Type(), len(obj))
		for k, x := range obj {
			key := reflect.New(v.Type().Key()).Elem()
			key.SetString(k)
			val := reflect.New(v.Type().Elem()).Elem()
			if err := m.decodeJSON(x, val, m.shape(shape.Value)); err != nil {
				return err
			}
			out.SetMapIndex(key, val)
		}
		v.Set(out)
		return nil
	}
	switch x := data.(type) {
	case string:
		if shape.Type != "string" && shape.Type != "timestamp" && shape.Type != "blob" {
			return fmt.Errorf("expected a %s, got a string", shape.Type)
		}
		return setScalar(alloc(v), x)
	case bool:
		if shape.Type != "boolean" {
			return fmt.Errorf("expected a %s, got a boolean", shape.Type)
		}
		return setScalar(alloc(v), strconv.FormatBool(x))
	case json.Number:
		if shape.Type == "string" || shape.Type == "boolean" || shape.Type == "blob" {
			return fmt.Errorf("expected a %s, got a number", shape.Type)
		}
		return setScalar(alloc(v), x.String())
	}
	return fmt.Errorf("expected a %s, got %v", shape.Type, data)
}

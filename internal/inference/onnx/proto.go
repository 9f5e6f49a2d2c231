package onnx

import (
	"encoding/binary"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// Field numbers of onnx.proto (proto3) for the messages the reader uses.
const (
	modelIRVersion = 1
	modelGraph     = 7
	modelOpset     = 8

	opsetDomain  = 1
	opsetVersion = 2

	graphNode        = 1
	graphInitializer = 5
	graphInput       = 11
	graphOutput      = 12

	nodeInput     = 1
	nodeOutput    = 2
	nodeName      = 3
	nodeOpType    = 4
	nodeAttribute = 5
	nodeDomain    = 7

	attrName      = 1
	attrFField    = 2
	attrI         = 3
	attrS         = 4
	attrT         = 5
	attrFloats    = 7
	attrIntsField = 8

	tensorDims         = 1
	tensorDataType     = 2
	tensorFloatData    = 4
	tensorInt32Data    = 5
	tensorInt64Data    = 7
	tensorName         = 8
	tensorRawData      = 9
	tensorExternalData = 13
	tensorDataLocation = 14

	valueName    = 1
	valueType    = 2
	typeTensor   = 1
	typeElemType = 1
	typeShape    = 2
	shapeDim     = 1
	dimValue     = 1
	dimParam     = 2
)

// ONNX tensor element types the reader accepts in constants.
const (
	dtFloat = 1
	dtUint8 = 2
	dtInt8  = 3
	dtInt32 = 6
	dtInt64 = 7
)

var dtNames = map[int64]string{1: "FLOAT", 2: "UINT8", 3: "INT8", 4: "UINT16", 5: "INT16", 6: "INT32", 7: "INT64",
	8: "STRING", 9: "BOOL", 10: "FLOAT16", 11: "DOUBLE", 12: "UINT32", 13: "UINT64", 16: "BFLOAT16"}

func dtName(t int64) string {
	if n, ok := dtNames[t]; ok {
		return n
	}
	return fmt.Sprintf("data type %d", t)
}

// Limits that keep a hostile file from making the reader allocate without
// bound beyond the file's own size.
const (
	maxNodes    = 1 << 14
	maxAttrs    = 64
	maxNameLen  = 4096
	maxRank     = 6
	maxElements = 1 << 28
)

type model struct {
	irVersion int64
	opsets    map[string]int64
	graph     *protoGraph
}

type protoGraph struct {
	nodes   []*protoNode
	inits   []*protoTensor
	inputs  []*valueInfo
	outputs []*valueInfo
}

type protoNode struct {
	name, opType, domain string
	inputs, outputs      []string
	attrs                map[string]*attribute
}

type attribute struct {
	f      float32
	i      int64
	s      []byte
	t      *protoTensor
	floats []float32
	ints   []int64
	has    map[int]bool // which value fields were present
}

type protoTensor struct {
	name     string
	dims     []int64
	dataType int64
	floats   []float32
	ints     []int64
	external bool
}

type valueInfo struct {
	name     string
	elemType int64
	dims     []int64 // -1 for a symbolic dimension
	hasShape bool
}

// fields walks the fields of one message, calling fn with each field's
// number, wire type and value bytes (for varint and fixed types, v holds the
// number).
func fields(b []byte, fn func(num protowire.Number, typ protowire.Type, v uint64, raw []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("malformed protobuf tag: %w", protowire.ParseError(n))
		}
		b = b[n:]
		var v uint64
		var raw []byte
		switch typ {
		case protowire.VarintType:
			v, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var x uint32
			x, n = protowire.ConsumeFixed32(b)
			v = uint64(x)
		case protowire.Fixed64Type:
			v, n = protowire.ConsumeFixed64(b)
		case protowire.BytesType:
			raw, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return fmt.Errorf("malformed protobuf field %d: %w", num, protowire.ParseError(n))
		}
		b = b[n:]
		if err := fn(num, typ, v, raw); err != nil {
			return err
		}
	}
	return nil
}

func parseModel(b []byte) (*model, error) {
	m := &model{opsets: map[string]int64{}}
	var graphBytes []byte
	err := fields(b, func(num protowire.Number, typ protowire.Type, v uint64, raw []byte) error {
		switch {
		case num == modelIRVersion && typ == protowire.VarintType:
			m.irVersion = int64(v)
		case num == modelGraph && typ == protowire.BytesType:
			graphBytes = raw
		case num == modelOpset && typ == protowire.BytesType:
			var domain string
			var version int64
			if err := fields(raw, func(num protowire.Number, typ protowire.Type, v uint64, raw []byte) error {
				switch {
				case num == opsetDomain && typ == protowire.BytesType:
					domain = string(raw)
				case num == opsetVersion && typ == protowire.VarintType:
					version = int64(v)
				}
				return nil
			}); err != nil {
				return fmt.Errorf("opset_import: %w", err)
			}
			m.opsets[domain] = version
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if graphBytes == nil {
		return nil, fmt.Errorf("not an ONNX model: no graph")
	}
	if m.graph, err = parseGraph(graphBytes); err != nil {
		return nil, fmt.Errorf("graph: %w", err)
	}
	return m, nil
}

func parseGraph(b []byte) (*protoGraph, error) {
	g := &protoGraph{}
	err := fields(b, func(num protowire.Number, typ protowire.Type, v uint64, raw []byte) error {
		if typ != protowire.BytesType {
			return nil
		}
		switch num {
		case graphNode:
			if len(g.nodes) >= maxNodes {
				return fmt.Errorf("more than %d nodes", maxNodes)
			}
			n, err := parseNode(raw)
			if err != nil {
				return fmt.Errorf("node %d: %w", len(g.nodes), err)
			}
			g.nodes = append(g.nodes, n)
		case graphInitializer:
			if len(g.inits) >= maxNodes {
				return fmt.Errorf("more than %d initializers", maxNodes)
			}
			t, err := parseTensor(raw)
			if err != nil {
				return fmt.Errorf("initializer %d: %w", len(g.inits), err)
			}
			g.inits = append(g.inits, t)
		case graphInput, graphOutput:
			vi, err := parseValueInfo(raw)
			if err != nil {
				return fmt.Errorf("graph input/output: %w", err)
			}
			if num == graphInput {
				g.inputs = append(g.inputs, vi)
			} else {
				g.outputs = append(g.outputs, vi)
			}
			if len(g.inputs)+len(g.outputs) > maxNodes {
				return fmt.Errorf("more than %d graph inputs and outputs", maxNodes)
			}
		}
		return nil
	})
	return g, err
}

func name(raw []byte) (string, error) {
	if len(raw) > maxNameLen {
		return "", fmt.Errorf("name of %d bytes, above %d", len(raw), maxNameLen)
	}
	return string(raw), nil
}

func parseNode(b []byte) (*protoNode, error) {
	n := &protoNode{attrs: map[string]*attribute{}}
	err := fields(b, func(num protowire.Number, typ protowire.Type, v uint64, raw []byte) error {
		if typ != protowire.BytesType {
			return nil
		}
		s, err := name(raw)
		if err != nil && num != nodeAttribute {
			return err
		}
		switch num {
		case nodeInput:
			n.inputs = append(n.inputs, s)
		case nodeOutput:
			n.outputs = append(n.outputs, s)
		case nodeName:
			n.name = s
		case nodeOpType:
			n.opType = s
		case nodeDomain:
			n.domain = s
		case nodeAttribute:
			if len(n.attrs) >= maxAttrs {
				return fmt.Errorf("more than %d attributes", maxAttrs)
			}
			an, a, err := parseAttr(raw)
			if err != nil {
				return fmt.Errorf("attribute %q: %w", an, err)
			}
			n.attrs[an] = a
		}
		if len(n.inputs)+len(n.outputs) > 1024 {
			return fmt.Errorf("more than 1024 inputs and outputs")
		}
		return nil
	})
	return n, err
}

func parseAttr(b []byte) (string, *attribute, error) {
	a := &attribute{has: map[int]bool{}}
	var an string
	err := fields(b, func(num protowire.Number, typ protowire.Type, v uint64, raw []byte) error {
		switch {
		case num == attrName && typ == protowire.BytesType:
			s, err := name(raw)
			if err != nil {
				return err
			}
			an = s
		case num == attrFField && typ == protowire.Fixed32Type:
			a.f = math.Float32frombits(uint32(v))
		case num == attrI && typ == protowire.VarintType:
			a.i = int64(v)
		case num == attrS && typ == protowire.BytesType:
			a.s = raw
		case num == attrT && typ == protowire.BytesType:
			t, err := parseTensor(raw)
			if err != nil {
				return err
			}
			a.t = t
		case num == attrFloats && typ == protowire.Fixed32Type:
			a.floats = append(a.floats, math.Float32frombits(uint32(v)))
		case num == attrFloats && typ == protowire.BytesType:
			f, err := packedFloats(raw)
			if err != nil {
				return err
			}
			a.floats = append(a.floats, f...)
		case num == attrIntsField && typ == protowire.VarintType:
			a.ints = append(a.ints, int64(v))
		case num == attrIntsField && typ == protowire.BytesType:
			v, err := packedVarints(raw)
			if err != nil {
				return err
			}
			a.ints = append(a.ints, v...)
		default:
			return nil
		}
		a.has[int(num)] = true
		if len(a.ints) > maxElements/8 || len(a.floats) > maxElements/8 {
			return fmt.Errorf("too many values")
		}
		return nil
	})
	return an, a, err
}

func packedFloats(raw []byte) ([]float32, error) {
	if len(raw)%4 != 0 {
		return nil, fmt.Errorf("packed floats of %d bytes", len(raw))
	}
	f := make([]float32, len(raw)/4)
	for i := range f {
		f[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return f, nil
}

func packedVarints(raw []byte) ([]int64, error) {
	var out []int64
	for len(raw) > 0 {
		v, n := protowire.ConsumeVarint(raw)
		if n < 0 {
			return nil, fmt.Errorf("malformed packed varint: %w", protowire.ParseError(n))
		}
		out = append(out, int64(v))
		raw = raw[n:]
	}
	return out, nil
}

func parseTensor(b []byte) (*protoTensor, error) {
	t := &protoTensor{}
	var raw []byte
	hasRaw := false
	err := fields(b, func(num protowire.Number, typ protowire.Type, v uint64, data []byte) error {
		switch {
		case num == tensorDims && typ == protowire.VarintType:
			t.dims = append(t.dims, int64(v))
		case num == tensorDims && typ == protowire.BytesType:
			d, err := packedVarints(data)
			if err != nil {
				return err
			}
			t.dims = append(t.dims, d...)
		case num == tensorDataType && typ == protowire.VarintType:
			t.dataType = int64(v)
		case num == tensorName && typ == protowire.BytesType:
			s, err := name(data)
			if err != nil {
				return err
			}
			t.name = s
		case num == tensorRawData && typ == protowire.BytesType:
			raw, hasRaw = data, true
		case num == tensorFloatData && typ == protowire.Fixed32Type:
			t.floats = append(t.floats, math.Float32frombits(uint32(v)))
		case num == tensorFloatData && typ == protowire.BytesType:
			f, err := packedFloats(data)
			if err != nil {
				return err
			}
			t.floats = append(t.floats, f...)
		case (num == tensorInt64Data || num == tensorInt32Data) && typ == protowire.VarintType:
			x := int64(v)
			if num == tensorInt32Data {
				x = int64(int32(v))
			}
			t.ints = append(t.ints, x)
		case (num == tensorInt64Data || num == tensorInt32Data) && typ == protowire.BytesType:
			d, err := packedVarints(data)
			if err != nil {
				return err
			}
			if num == tensorInt32Data {
				for i := range d {
					d[i] = int64(int32(d[i]))
				}
			}
			t.ints = append(t.ints, d...)
		case num == tensorExternalData && typ == protowire.BytesType:
			t.external = true
		case num == tensorDataLocation && typ == protowire.VarintType:
			t.external = t.external || v == 1
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if t.external {
		return nil, fmt.Errorf("tensor %q: external data is not supported (save the model with its weights inside)", t.name)
	}
	if len(t.dims) > maxRank {
		return nil, fmt.Errorf("tensor %q: rank %d above %d", t.name, len(t.dims), maxRank)
	}
	n := int64(1)
	for _, d := range t.dims {
		if d < 0 || d > maxElements || n*d > maxElements {
			return nil, fmt.Errorf("tensor %q: unsupported dims %v", t.name, t.dims)
		}
		n *= d
	}
	if hasRaw {
		switch t.dataType {
		case dtFloat:
			if int64(len(raw)) != 4*n {
				return nil, fmt.Errorf("tensor %q: %d raw bytes for dims %v (FLOAT)", t.name, len(raw), t.dims)
			}
			t.floats, _ = packedFloats(raw)
		case dtInt64:
			if int64(len(raw)) != 8*n {
				return nil, fmt.Errorf("tensor %q: %d raw bytes for dims %v (INT64)", t.name, len(raw), t.dims)
			}
			t.ints = make([]int64, n)
			for i := range t.ints {
				t.ints[i] = int64(binary.LittleEndian.Uint64(raw[8*i:]))
			}
		case dtInt32:
			if int64(len(raw)) != 4*n {
				return nil, fmt.Errorf("tensor %q: %d raw bytes for dims %v (INT32)", t.name, len(raw), t.dims)
			}
			t.ints = make([]int64, n)
			for i := range t.ints {
				t.ints[i] = int64(int32(binary.LittleEndian.Uint32(raw[4*i:])))
			}
		case dtInt8, dtUint8:
			if int64(len(raw)) != n {
				return nil, fmt.Errorf("tensor %q: %d raw bytes for dims %v (%s)", t.name, len(raw), t.dims, dtName(t.dataType))
			}
			t.ints = make([]int64, n)
			for i, v := range raw {
				if t.dataType == dtInt8 {
					t.ints[i] = int64(int8(v))
				} else {
					t.ints[i] = int64(v)
				}
			}
		default:
			return nil, unsupportedType(t)
		}
		return t, nil
	}
	switch t.dataType {
	case dtFloat:
		if int64(len(t.floats)) != n {
			return nil, fmt.Errorf("tensor %q: %d floats for dims %v", t.name, len(t.floats), t.dims)
		}
	case dtInt64, dtInt32:
		if int64(len(t.ints)) != n {
			return nil, fmt.Errorf("tensor %q: %d integers for dims %v", t.name, len(t.ints), t.dims)
		}
	case dtInt8, dtUint8:
		// Stored one value per int32_data entry.
		if int64(len(t.ints)) != n {
			return nil, fmt.Errorf("tensor %q: %d integers for dims %v", t.name, len(t.ints), t.dims)
		}
		lo, hi := int64(-128), int64(127)
		if t.dataType == dtUint8 {
			lo, hi = 0, 255
		}
		for _, v := range t.ints {
			if v < lo || v > hi {
				return nil, fmt.Errorf("tensor %q: value %d out of range for %s", t.name, v, dtName(t.dataType))
			}
		}
	default:
		return nil, unsupportedType(t)
	}
	return t, nil
}

// unsupportedType names a constant's element type the engine does not run,
// with the usual way out for float16 and double exports.
func unsupportedType(t *protoTensor) error {
	hint := ""
	switch t.dataType {
	case 10, 11, 16: // FLOAT16, DOUBLE, BFLOAT16
		hint = " (the engine runs FLOAT models: export or convert the model to float32)"
	}
	return fmt.Errorf("tensor %q: unsupported data type %s%s", t.name, dtName(t.dataType), hint)
}

func parseValueInfo(b []byte) (*valueInfo, error) {
	vi := &valueInfo{}
	var typeBytes []byte
	err := fields(b, func(num protowire.Number, typ protowire.Type, v uint64, raw []byte) error {
		if typ != protowire.BytesType {
			return nil
		}
		switch num {
		case valueName:
			s, err := name(raw)
			if err != nil {
				return err
			}
			vi.name = s
		case valueType:
			typeBytes = raw
		}
		return nil
	})
	if err != nil || typeBytes == nil {
		return vi, err
	}
	return vi, fields(typeBytes, func(num protowire.Number, typ protowire.Type, v uint64, raw []byte) error {
		if num != typeTensor || typ != protowire.BytesType {
			return nil
		}
		return fields(raw, func(num protowire.Number, typ protowire.Type, v uint64, raw []byte) error {
			switch {
			case num == typeElemType && typ == protowire.VarintType:
				vi.elemType = int64(v)
			case num == typeShape && typ == protowire.BytesType:
				vi.hasShape = true
				return fields(raw, func(num protowire.Number, typ protowire.Type, v uint64, raw []byte) error {
					if num != shapeDim || typ != protowire.BytesType {
						return nil
					}
					if len(vi.dims) >= maxRank {
						return fmt.Errorf("value %q: rank above %d", vi.name, maxRank)
					}
					d := int64(-1)
					if err := fields(raw, func(num protowire.Number, typ protowire.Type, v uint64, raw []byte) error {
						if num == dimValue && typ == protowire.VarintType {
							d = int64(v)
						}
						return nil
					}); err != nil {
						return err
					}
					vi.dims = append(vi.dims, d)
					return nil
				})
			}
			return nil
		})
	})
}

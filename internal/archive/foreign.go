package archive

import (
	"bytes"
	"path"
	"strings"
)

// Conversions a model owner runs to turn a TensorFlow model into a file the engine reads;
// refusals of SavedModel and Keras archives quote them.
const (
	convertSavedModel = "convert it first: `python -c \"import tensorflow as tf; open('model.tflite','wb').write(tf.lite.TFLiteConverter.from_saved_model('SAVED_MODEL_DIR').convert())\"` " +
		"or `python -m tf2onnx.convert --saved-model SAVED_MODEL_DIR --output model.onnx`, then archive model.tflite (or model.onnx) with labels.txt"
	convertKeras = "convert it first: `python -c \"import tensorflow as tf; open('model.tflite','wb').write(tf.lite.TFLiteConverter.from_keras_model(tf.keras.models.load_model('MODEL.keras')).convert())\"` " +
		"or `python -m tf2onnx.convert --keras MODEL.h5 --output model.onnx`, then archive model.tflite (or model.onnx) with labels.txt"
)

// foreignEntry recognises an entry of a TensorFlow SavedModel or a Keras model file (at any
// depth) and returns the refusal detail, or "" for anything else.
func foreignEntry(name string) string {
	base := path.Base(name)
	first, _, _ := strings.Cut(name, "/")
	switch {
	case base == "saved_model.pb" || base == "saved_model.pbtxt" || base == "keras_metadata.pb" || base == "fingerprint.pb" ||
		first == "variables" || first == "assets" || strings.HasSuffix(name, "/variables") || strings.Contains(name, "/variables/") ||
		strings.HasPrefix(base, "variables.data-") || base == "variables.index":
		return "this is a TensorFlow SavedModel, which the engine does not run; " + convertSavedModel
	case strings.HasSuffix(base, ".keras") || strings.HasSuffix(base, ".h5") || strings.HasSuffix(base, ".hdf5"):
		return "this is a Keras model, which the engine does not run; " + convertKeras
	}
	return ""
}

// foreignFile recognises a bare Keras .h5 (HDF5) file uploaded instead of an archive by its
// leading bytes. (A zip, which a .keras file is, is refused as corrupt with the same hint.)
func foreignFile(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte("\x89HDF\r\n\x1a\n")):
		return "this is a Keras .h5 (HDF5) file, not a model archive; " + convertKeras
	}
	return ""
}

// ForeignObject recognises an object uploaded on its own instead of an archive — a SavedModel's
// saved_model.pb or a Keras .keras/.h5/.hdf5 file — by its name, and returns the refusal detail
// with the conversion, or "" for any other name.
func ForeignObject(name string) string {
	base := path.Base(name)
	switch {
	case base == "saved_model.pb" || base == "saved_model.pbtxt":
		return "a TensorFlow SavedModel, which the engine does not run; " + convertSavedModel
	case strings.HasSuffix(base, ".keras") || strings.HasSuffix(base, ".h5") || strings.HasSuffix(base, ".hdf5"):
		return "a Keras model, which the engine does not run; " + convertKeras
	}
	return ""
}

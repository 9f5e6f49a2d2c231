// Package pinimage is the PinWorkloadImage Cloud Function (Primus). It registers itself with
// functions-framework-go in init; the work is done by the core packages under internal/.
package pinimage

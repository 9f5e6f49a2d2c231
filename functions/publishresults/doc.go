// Package publishresults is the PublishResults Cloud Function (Secundus). It registers itself with
// functions-framework-go in init; the work is done by the core packages under internal/.
package publishresults

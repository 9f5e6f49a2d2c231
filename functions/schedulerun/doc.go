// Package schedulerun is the ScheduleRun Cloud Function (Secundus). It registers itself with
// functions-framework-go in init; the work is done by the core packages under internal/.
package schedulerun

// Package cspipe is the source root that the Cloud Functions Go buildpack builds: importing the
// function packages registers each function (PinWorkloadImage, RegisterModel, ScheduleRun,
// PublishResults) with functions-framework-go, and a deploy selects one by its entry point.
// Nothing of the local stack is imported here.
package cspipe

import (
	_ "github.com/cspipe/cspipe/functions/pinimage"
	_ "github.com/cspipe/cspipe/functions/publishresults"
	_ "github.com/cspipe/cspipe/functions/registermodel"
	_ "github.com/cspipe/cspipe/functions/schedulerun"
)

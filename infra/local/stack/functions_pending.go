package stack

import "context"

func (s *Stack) pinFunction(context.Context) (function, error) {
	return function{name: "PinWorkloadImage"}, errMissing
}

func (s *Stack) scheduleRunFunction(context.Context) (function, error) {
	return function{name: "ScheduleRun"}, errMissing
}

func (s *Stack) publishResultsFunction(context.Context) (function, error) {
	return function{name: "PublishResults"}, errMissing
}

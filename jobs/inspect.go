package jobs

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hibiken/asynq"
)

// TaskState is where a task is in the queue: "pending", "active",
// "scheduled", "retry", "archived" or "completed".
type TaskState string

// The states of a task.
const (
	TaskPending   TaskState = "pending"
	TaskActive    TaskState = "active"
	TaskScheduled TaskState = "scheduled"
	TaskRetry     TaskState = "retry"
	TaskArchived  TaskState = "archived"
	TaskCompleted TaskState = "completed"
)

// Task is one task the queue holds.
type Task struct {
	ID            string
	Type          string
	Queue         string
	State         TaskState
	Retried       int
	NextProcessAt time.Time
}

// QueueStats counts the tasks of one queue, by state.
type QueueStats struct {
	Name                                                   string
	Size                                                   int
	Pending, Active, Scheduled, Retry, Archived, Completed int
	Paused                                                 bool
}

// WorkerInfo is a worker process registered with the queue.
type WorkerInfo struct {
	Host        string
	PID         int
	Concurrency int
	// Queues are the queues served, with their priorities.
	Queues map[string]int
}

// jobQueues are every queue a job's task may be on.
func jobQueues() []string { return append(Queues(), QueueCaptions) }

func toTask(info *asynq.TaskInfo) *Task {
	return &Task{ID: info.ID, Type: info.Type, Queue: info.Queue, State: TaskState(info.State.String()),
		Retried: info.Retried, NextProcessAt: info.NextProcessAt}
}

// FindTask returns the task of ID taskID on whichever transcode or
// captions queue holds it; nil when none does.
func (q *Queue) FindTask(taskID string) (*Task, error) {
	for _, name := range jobQueues() {
		info, err := q.inspector.GetTaskInfo(name, taskID)
		switch {
		case err == nil:
			return toTask(info), nil
		case !errors.Is(err, asynq.ErrTaskNotFound) && !errors.Is(err, asynq.ErrQueueNotFound):
			return nil, fmt.Errorf("find task %s in queue %s: %w", taskID, name, err)
		}
	}
	return nil, nil
}

// PendingTaskIDs lists, sorted, the IDs of the tasks waiting on the named
// queues (every transcode queue when none is named).
func (q *Queue) PendingTaskIDs(queues ...string) ([]string, error) {
	if len(queues) == 0 {
		queues = Queues()
	}
	ids := []string{}
	for _, name := range queues {
		tasks, err := q.inspector.ListPendingTasks(name)
		if errors.Is(err, asynq.ErrQueueNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("list pending tasks of %s: %w", name, err)
		}
		for _, t := range tasks {
			ids = append(ids, t.ID)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// Stats counts the tasks of every queue Redis knows, by name.
func (q *Queue) Stats() ([]QueueStats, error) {
	names, err := q.inspector.Queues()
	if err != nil {
		return nil, fmt.Errorf("list queues: %w", err)
	}
	slices.Sort(names)
	out := make([]QueueStats, 0, len(names))
	for _, name := range names {
		info, err := q.inspector.GetQueueInfo(name)
		if err != nil {
			return nil, fmt.Errorf("queue %s: %w", name, err)
		}
		out = append(out, QueueStats{Name: name, Size: info.Size, Pending: info.Pending, Active: info.Active,
			Scheduled: info.Scheduled, Retry: info.Retry, Archived: info.Archived, Completed: info.Completed, Paused: info.Paused})
	}
	return out, nil
}

// Workers lists the worker processes registered with the queue.
func (q *Queue) Workers() ([]WorkerInfo, error) {
	servers, err := q.inspector.Servers()
	if err != nil {
		return nil, fmt.Errorf("list workers: %w", err)
	}
	out := make([]WorkerInfo, 0, len(servers))
	for _, s := range servers {
		out = append(out, WorkerInfo{Host: s.Host, PID: s.PID, Concurrency: s.Concurrency, Queues: s.Queues})
	}
	return out, nil
}

// Pause stops workers taking tasks from the named queue until Unpause.
func (q *Queue) Pause(queue string) error { return q.inspector.PauseQueue(queue) }

// Unpause lets workers take tasks from the named queue again.
func (q *Queue) Unpause(queue string) error { return q.inspector.UnpauseQueue(queue) }

// DeleteTask deletes the task of ID taskID, not running, from queue.
func (q *Queue) DeleteTask(queue, taskID string) error { return q.inspector.DeleteTask(queue, taskID) }

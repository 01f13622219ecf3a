// How many of the requested threads to use, given the other processes that keep this machine's cores busy.
#pragma once

namespace ortool::rt {

// The team for a session asked for `threads` on `cores` cores while `others` other tasks are
// runnable: all of them when the cores are free, else what the others leave (at least one).
// oneDNN's primitives split their work evenly among an OpenMP team and join it at a barrier, so a
// team member that waits for a busy core stalls every step: on a loaded box a 2-thread run was 5-10
// times slower than a 1-thread one.
int team_for_load(int threads, int cores, int others);

// The cores this process may run on and the tasks runnable besides the calling thread (the least
// of a few samples of /proc/loadavg, 1 ms apart: a momentary spike is not load); -1 others when
// unknown (no /proc), which leaves the team alone.
int usable_cores();
int other_runnable_tasks();

}  // namespace ortool::rt

//! What blocked the main thread: `longtask` entries (tasks over 50 ms) and
//! `long-animation-frame` entries (frames over 50 ms, with the scripts that ran in them),
//! each sent as an event, at most a configurable number per page view.

use crate::bindings::Entry;
use crate::monitor::{Capped, Core};
use crate::observe::{observe, Observe};
use crate::wire::{self, AnimationFrame, LongTask};

pub fn observe_long_tasks(core: &'static Core) {
    let limit = core.options.max_long_tasks;
    observe(Observe::buffered(&["longtask"]), move |entries| {
        for entry in entries {
            if core.take_capped(Capped::LongTask, limit) {
                let event = wire::long_task(&core.next_event_id(), &long_task(core, &entry));
                core.enqueue(event);
            }
        }
    });
    observe(
        Observe::buffered(&["long-animation-frame"]),
        move |entries| {
            for entry in entries {
                if core.take_capped(Capped::AnimationFrame, limit) {
                    let event =
                        wire::long_animation_frame(&core.next_event_id(), &frame(core, &entry));
                    core.enqueue(event);
                }
            }
        },
    );
}

fn long_task(core: &Core, entry: &Entry) -> LongTask {
    // The first attribution names the frame the task ran in, when it was not this one.
    let container = entry.list("attribution").into_iter().next().and_then(|a| {
        a.string("containerSrc")
            .map(|src| core.resource_url(&src))
            .or_else(|| a.string("containerId"))
            .or_else(|| a.string("containerName"))
    });
    LongTask {
        start_time: entry.start_time(),
        duration: entry.duration(),
        name: entry.string("name"),
        container,
    }
}

fn frame(core: &Core, entry: &Entry) -> AnimationFrame {
    let longest =
        entry
            .list("scripts")
            .into_iter()
            .reduce(|a, b| if b.duration() > a.duration() { b } else { a });
    AnimationFrame {
        start_time: entry.start_time(),
        duration: entry.duration(),
        blocking_duration: entry.num("blockingDuration"),
        render_start: entry.opt_num("renderStart"),
        style_and_layout_start: entry.opt_num("styleAndLayoutStart"),
        script_url: longest
            .as_ref()
            .and_then(|s| s.string("sourceURL"))
            .map(|url| core.resource_url(&url)),
        script_function: longest
            .as_ref()
            .and_then(|s| s.string("sourceFunctionName")),
        // A classic script's invoker is its URL.
        script_invoker: longest
            .as_ref()
            .and_then(|s| s.string("invoker"))
            .map(
                |invoker| match invoker.as_bytes().windows(3).any(|w| w == b"://") {
                    true => core.resource_url(&invoker),
                    false => invoker,
                },
            ),
        script_duration: longest.as_ref().map(Entry::duration),
    }
}

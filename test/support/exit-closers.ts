/**
 * Closers registered with `closeWhenIdle`, one of which registers another while the exit run
 * is under way: each prints its name when it has run (test/script-exit.test.ts).
 */
import { closeWhenIdle } from "../../src/runtime/Background.ts"

const closer = (name: string) => () => new Promise<void>((resolve) => setTimeout(() => (console.log(name), resolve()), 10))

closeWhenIdle(closer("storage"), "storage")
closeWhenIdle(async () => {
  // As a runtime's last notes might: more work, after the work phase has taken its list.
  closeWhenIdle(closer("late work"), "work")
  await closer("work")()
}, "work")
const forgotten = closeWhenIdle(closer("unregistered"), "work")
forgotten()

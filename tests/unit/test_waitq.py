"""WaitQueue: conditions re-checked on wake-up, timeouts, cancellation."""
import asyncio

from moss_host.waitq import WaitQueue


def run(coro):
    return asyncio.run(coro)


def test_wait_until_returns_at_once_when_condition_holds():
    async def main():
        return await WaitQueue().wait_until(lambda: True)
    assert run(main()) is True


def test_wait_until_wakes_when_state_changes_and_ignores_spurious_wakeups():
    async def main():
        q, box = WaitQueue(), []
        waiter = asyncio.ensure_future(q.wait_until(lambda: box == [1, 2]))
        await asyncio.sleep(0)
        box.append(1)
        q.wake_all()                      # condition still false: keeps waiting
        await asyncio.sleep(0)
        assert not waiter.done()
        box.append(2)
        q.wake_all()
        return await waiter
    assert run(main()) is True


def test_wait_until_times_out_with_false():
    async def main():
        return await WaitQueue().wait_until(lambda: False, timeout=0.01)
    assert run(main()) is False


def test_cancelled_waiter_leaves_the_queue():
    async def main():
        q = WaitQueue()
        waiter = asyncio.ensure_future(q.wait())
        await asyncio.sleep(0)
        assert len(q) == 1
        waiter.cancel()
        await asyncio.gather(waiter, return_exceptions=True)
        return len(q)
    assert run(main()) == 0

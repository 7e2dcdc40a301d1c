// EdgeBusyPoll: the adaptive poll window of an edge worker (grow, shrink, cap), on a made-up
// clock.
#include "core/edge/edgebusypoll.h"

#include <QTest>

using namespace Meridian;

class tst_EdgeBusyPoll final : public QObject
{
    Q_OBJECT

private slots:
    void zeroNeverPolls()
    {
        EdgeBusyPoll poll(0);
        for (int i = 0; i < 10; ++i) {
            QCOMPARE(poll.windowUs(i * 10), 0);
            poll.idled(5, 0); // events come at once: still no polling
        }
        QCOMPARE(poll.windowUs(1000), 0);
    }

    void growsWhileEventsComeSoonAfterTheLoopRunsDry()
    {
        EdgeBusyPoll poll(50);
        QCOMPARE(poll.windowUs(0), 0); // sleeps at once until it has seen short idles
        poll.idled(30, 0);             // slept 30 us: a poll would have caught it
        QCOMPARE(poll.windowUs(0), EdgeBusyPoll::kGrowStartUs);
        poll.idled(30, 10);
        QCOMPARE(poll.windowUs(0), 20);
        poll.idled(30, 20);
        QCOMPARE(poll.windowUs(0), 40);
        poll.idled(45, 40);
        QCOMPARE(poll.windowUs(0), 50); // never past the maximum
        poll.idled(20, 20);             // caught while polling: the window stays
        QCOMPARE(poll.windowUs(0), 50);
    }

    void shrinksToNothingWhenTheLoopSleepsLong()
    {
        EdgeBusyPoll poll(40);
        poll.idled(30, 0);
        poll.idled(30, 0);
        poll.idled(30, 0);
        QCOMPARE(poll.windowUs(0), 40);
        const int expected[] = {20, 10, 5, 2, 1, 0, 0};
        for (const int window : expected) {
            poll.idled(100'000, 40); // the sweep's timeout: nothing came
            QCOMPARE(poll.windowUs(0), window);
        }
    }

    void pollingIsCappedPerPeriod()
    {
        // One client sending requests back to back: every idle is short, so the window stays
        // open, but the loop polls at most kMaxPolledPerPeriodUs of every kPeriodUs.
        EdgeBusyPoll poll(1000);
        for (int i = 0; i < 10; ++i)
            poll.idled(900, 0);
        QCOMPARE(poll.windowUs(0), 1000);
        int64_t now = 0;
        int64_t polledInPeriod = 0;
        while (now < EdgeBusyPoll::kPeriodUs) {
            const int window = poll.windowUs(now);
            polledInPeriod += window;
            poll.idled(window, window); // it polled all of it and was then caught
            now += window + 50;
            if (window == 0)
                break;
        }
        QCOMPARE(polledInPeriod, EdgeBusyPoll::kMaxPolledPerPeriodUs);
        QCOMPARE(poll.windowUs(now), 0);
        QCOMPARE(poll.windowUs(EdgeBusyPoll::kPeriodUs - 1), 0);
        // The next period opens the window again.
        QCOMPARE(poll.windowUs(EdgeBusyPoll::kPeriodUs), 1000);
    }
};

QTEST_GUILESS_MAIN(tst_EdgeBusyPoll)
#include "tst_edgebusypoll.moc"

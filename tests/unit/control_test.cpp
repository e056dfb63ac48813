// Who the manager's control socket (`routemq ctl`) serves: root and the manager's own user.
#include "control/control.hpp"

#include <gtest/gtest.h>

#include <string>

using routemq::detail::peer_refusal;

TEST(control_test, ServesRootAndTheManagersOwnUser) {
    EXPECT_EQ(peer_refusal(0, 0), "");
    EXPECT_EQ(peer_refusal(0, 1000), "") << "root is served by a manager run by another user";
    EXPECT_EQ(peer_refusal(1000, 1000), "") << "the manager's own user is served";
}

TEST(control_test, RefusesEveryoneElseSayingWhy) {
    EXPECT_EQ(peer_refusal(65534, 0),
              "refused: uid 65534 is neither root nor the manager's user (uid 0); routemq ctl "
              "serves only those");
    EXPECT_EQ(peer_refusal(1001, 1000),
              "refused: uid 1001 is neither root nor the manager's user (uid 1000); routemq ctl "
              "serves only those");
    // A manager run by an unprivileged user does not serve another unprivileged user either.
    EXPECT_NE(peer_refusal(1000, 1001), "");
}

TEST(control_test, BelievesOnlyAManagerOfRootOrItsOwnUser) {
    EXPECT_EQ(routemq::detail::holder_distrust(0, 1000), "");
    EXPECT_EQ(routemq::detail::holder_distrust(1000, 1000), "");
    EXPECT_EQ(routemq::detail::holder_distrust(65534, 0),
              "the control socket is held by uid 65534, neither root nor you (uid 0): not a "
              "manager routemq ctl trusts (run it as the manager's user)");
}

import Testing
@testable import HoraeDispatcher

struct DispatcherPlaceholderTests {
    @Test func dispatcherLinksAgainstRules() {
        #expect(HoraeDispatcher.rulesLanguageVersion == 1)
    }
}

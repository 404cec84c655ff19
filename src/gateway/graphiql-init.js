/* global document, location, fetch, URL, GraphiQL, React, ReactDOM */
// Starts GraphiQL on the page `GET /graphql` serves to a browser. A file of its own, so that
// the page runs no inline script (its Content-Security-Policy says `script-src 'self'`).
(function () {
  'use strict';
  const root = document.getElementById('graphiql');
  const { endpoint, schema: schemaUrl, headers } = root.dataset;
  const http = GraphiQL.createFetcher({ url: new URL(endpoint, location.href).href });

  // The standard introspection query nests 13 levels deep and the gateway's depth limit (8)
  // refuses it: the gateway hands over the schema itself, as an introspection result.
  let schema;
  function fetcher(params, options) {
    if (params.operationName === 'IntrospectionQuery') {
      schema =
        schema ||
        fetch(schemaUrl)
          .then((res) => res.json())
          .then((data) => ({ data }));
      return schema;
    }
    return http(params, options);
  }

  const defaultQuery = `# The deposit gateway. Every request needs
# an API key: {"x-api-key": "..."} in the
# Headers tab below. Ctrl-Enter runs it.
{
  deposits(first: 5) {
    edges {
      node {
        id
        userId
        status
        amount
        currency
        createdAt
      }
    }
  }
}
`;

  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, {
      fetcher,
      defaultQuery,
      defaultHeaders: headers,
      // An API key typed here stays in this tab: never written to the browser's storage.
      shouldPersistHeaders: false,
      defaultEditorToolsVisibility: 'headers',
    }),
  );
})();
